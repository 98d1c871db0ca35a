"""Vantaa-Kerava's model file lists answers that do not usually go together: resources that
contradict the segment's description are warned about, and the segment stays what the answers
say."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Auth

LIMITED_BUT_SUPPORT = (
    "Resources are marked limited, though the answers place the client as a support client, "
    "whose resources the description calls good. In the model's description, limited resources "
    "belong to care clients, whose need for help is high. Check the answers."
)
GOOD_BUT_CARE = (
    "Resources are marked good, though the answers place the client as a care client, whose "
    "resources the description calls limited. Check the answers."
)


def classify(client: TestClient, auth: Auth, **answers: str) -> Any:
    response = client.post(
        "/v1/classify",
        json={"answers": answers},
        headers=auth(org="vantaa-kerava", **{"Accept-Language": "en"}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "vantaa-kerava-2021"
    return response.json()


def test_limited_resources_for_a_support_client_are_warned_about_and_the_segment_stays(
    client: TestClient, auth: Auth
) -> None:
    result = classify(client, auth, coping="difficult", service_need="low", resources="limited")
    assert result["warnings"] == [LIMITED_BUT_SUPPORT]
    assert (result["suggested_segment"]["key"], result["suggested_segment"]["code"]) == (
        "support",
        2,
    )


def test_good_resources_for_a_care_client_are_warned_about_and_the_segment_stays(
    client: TestClient, auth: Auth
) -> None:
    result = classify(client, auth, coping="difficult", service_need="high", resources="good")
    assert result["warnings"] == [GOOD_BUT_CARE]
    assert (result["suggested_segment"]["key"], result["suggested_segment"]["code"]) == (
        "care",
        4,
    )


@pytest.mark.parametrize(
    "answers",
    [
        {"coping": "difficult", "service_need": "low", "resources": "good"},
        {"coping": "difficult", "service_need": "low"},
        {"coping": "difficult", "service_need": "high", "resources": "limited"},
        {"coping": "difficult", "service_need": "high"},
        {"coping": "easy", "service_need": "low", "resources": "limited"},
        {"coping": "easy", "service_need": "high", "resources": "good"},
    ],
    ids=lambda answers: "-".join(answers.values()),
)
def test_resources_that_agree_with_the_segment_are_not_warned_about(
    client: TestClient, auth: Auth, answers: dict[str, str]
) -> None:
    assert classify(client, auth, **answers)["warnings"] == []


def test_an_assessment_keeps_the_warning_it_was_shown(client: TestClient, auth: Auth) -> None:
    created = client.post(
        "/v1/assessments",
        json={
            "client": {"hetu": "131052-308T"},
            "answers": {"coping": "difficult", "service_need": "low", "resources": "limited"},
        },
        headers=auth(org="vantaa-kerava", **{"Accept-Language": "en"}),
    )
    assert created.status_code == 201, created.text
    read = client.get(
        f"/v1/assessments/{created.json()['assessment_id']}",
        headers=auth(org="vantaa-kerava", **{"Accept-Language": "en"}),
    ).json()
    assert read["warnings"] == [LIMITED_BUT_SUPPORT]
    assert read["segment"]["code"] == 2
