"""Assessing with the client: an assessment may record whether the segment was discussed with
the client, and the assessment and the client's segment history say so (null when not given)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Auth, TestDatabase
from tests.helpers import helsinki_assessment


def assess(client: TestClient, auth: Auth, **fields: Any) -> Any:
    response = client.post("/v1/assessments", headers=auth(), json=helsinki_assessment(**fields))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("discussed", [True, False])
def test_whether_the_segment_was_discussed_with_the_client_is_recorded_and_read_back(
    client: TestClient, auth: Auth, discussed: bool
) -> None:
    created = assess(client, auth, discussed_with_client=discussed)
    read = client.get(f"/v1/assessments/{created['assessment_id']}", headers=auth()).json()
    assert created["discussed_with_client"] is discussed
    assert read["discussed_with_client"] is discussed


def test_an_assessment_that_does_not_say_records_null(client: TestClient, auth: Auth) -> None:
    created = assess(client, auth)
    read = client.get(f"/v1/assessments/{created['assessment_id']}", headers=auth()).json()
    assert "discussed_with_client" in created
    assert created["discussed_with_client"] is None
    assert read["discussed_with_client"] is None


def test_each_item_of_the_segment_history_says_whether_it_was_discussed_with_the_client(
    client: TestClient, auth: Auth
) -> None:
    first = assess(client, auth, effective_at="2026-01-10T10:00:00+02:00")
    assess(
        client,
        auth,
        coping="difficult",
        effective_at="2026-03-10T10:00:00+02:00",
        discussed_with_client=True,
    )
    assess(
        client,
        auth,
        coping="difficult",
        risk_level="many",
        effective_at="2026-05-10T10:00:00+03:00",
        discussed_with_client=False,
    )
    history = client.get(f"/v1/clients/{first['client_id']}/segment-history", headers=auth()).json()
    assert [(i["segment"]["code"], i["discussed_with_client"]) for i in history["items"]] == [
        (1, None),
        (2, True),
        (4, False),
    ]


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, {}, []])
def test_anything_but_a_boolean_or_null_is_refused(
    client: TestClient, auth: Auth, database: TestDatabase, value: Any
) -> None:
    refused = client.post(
        "/v1/assessments", headers=auth(), json=helsinki_assessment(discussed_with_client=value)
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["discussed_with_client"]
    assert database.count("assessment") == 0


def test_null_is_the_same_as_not_saying(client: TestClient, auth: Auth) -> None:
    created = assess(client, auth, discussed_with_client=None)
    assert created["discussed_with_client"] is None
