"""Helsinki's 2021 segments: version 2021.1 of helsinki-2023 is in force from 1 January 2021
until 19 December 2023, the day before 2023.1; nothing is in force before it."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Auth, TestDatabase
from tests.helpers import helsinki_assessment


def assess(client: TestClient, auth: Auth, effective_at: str) -> dict[str, object]:
    response = client.post(
        "/v1/assessments",
        headers=auth(**{"Accept-Language": "en"}),
        json=helsinki_assessment(coping="difficult", risk_level="many", effective_at=effective_at),
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_an_assessment_taking_effect_in_2022_is_made_under_2021_1(
    client: TestClient, auth: Auth
) -> None:
    created = assess(client, auth, "2022-05-01T10:00:00+03:00")
    assert created["model_version"] == "2021.1"
    assert created["segment"] == {
        "code": 4,
        "key": "care",
        "name": "Care client",
        "register_code": 4,
    }


def test_an_assessment_taking_effect_in_2024_is_made_under_2023_1(
    client: TestClient, auth: Auth
) -> None:
    assert assess(client, auth, "2024-01-10T10:00:00+02:00")["model_version"] == "2023.1"


@pytest.mark.parametrize(
    ("effective_at", "version"),
    [
        ("2021-01-01T00:00:00+02:00", "2021.1"),  # the first day, in Finland
        ("2023-12-19T23:59:59+02:00", "2021.1"),  # the last day
        ("2023-12-20T00:00:00+02:00", "2023.1"),  # 2023.1's first day
        ("2023-12-19T22:30:00Z", "2023.1"),  # already 20 December in Finland
    ],
)
def test_the_versions_change_over_at_midnight_in_finland(
    client: TestClient, auth: Auth, effective_at: str, version: str
) -> None:
    assert assess(client, auth, effective_at)["model_version"] == version


def test_an_assessment_taking_effect_in_2020_is_refused_naming_effective_at(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    refused = client.post(
        "/v1/assessments",
        headers=auth(),
        json=helsinki_assessment(effective_at="2020-06-01T10:00:00+03:00"),
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["effective_at"]
    assert database.count("assessment") == 0


def test_the_eve_of_2021_is_before_any_version(client: TestClient, auth: Auth) -> None:
    # 23:30 UTC on 31 December 2020 is already 2021 in Finland; 21:30 UTC is not.
    in_finland_2021 = client.post(
        "/v1/assessments",
        headers=auth(),
        json=helsinki_assessment(effective_at="2020-12-31T22:30:00Z"),
    )
    in_finland_2020 = client.post(
        "/v1/assessments",
        headers=auth(),
        json=helsinki_assessment(effective_at="2020-12-31T21:30:00Z"),
    )
    assert in_finland_2021.status_code == 201
    assert in_finland_2020.status_code == 422


def test_2021_1_cannot_be_pinned_after_its_last_day(client: TestClient, auth: Auth) -> None:
    pinned = client.post(
        "/v1/assessments",
        headers=auth(),
        json=helsinki_assessment(model_version="2021.1", effective_at="2024-01-10T10:00:00+02:00"),
    )
    assert pinned.status_code == 422
    assert pinned.json()["errors"][0]["field"] == "model_version"


def test_each_version_explains_in_its_own_words(client: TestClient, auth: Auth) -> None:
    in_2022 = assess(client, auth, "2022-05-01T10:00:00+03:00")["explanation"]
    in_2024 = assess(client, auth, "2024-01-10T10:00:00+02:00")["explanation"]
    assert isinstance(in_2022, list) and isinstance(in_2024, list)
    # 2021.1 asks about "Health and wellbeing risks …", 2023.1 about the "Amount of …".
    assert in_2022[1].startswith("Health and wellbeing risks or need for services")
    assert in_2024[1].startswith("Amount of health and wellbeing risks or need for services")
