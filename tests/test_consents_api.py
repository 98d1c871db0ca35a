"""Consent to the health register: given, withdrawn, and the state at each moment."""

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Auth
from tests.helpers import helsinki_assessment


def new_client(client: TestClient, auth: Auth, **fields: Any) -> dict[str, Any]:
    body = helsinki_assessment(effective_at="2026-02-01T10:00:00+02:00", **fields)
    created: dict[str, Any] = client.post("/v1/assessments", json=body, headers=auth()).json()
    return created


def test_consent_given_and_withdrawn_are_two_dated_events(client: TestClient, auth: Auth) -> None:
    created = new_client(client, auth, consent={"health_register": True})
    url = f"/v1/clients/{created['client_id']}/consents"
    withdrawn = client.post(
        url,
        json={"register": "health", "given": False, "at": "2026-04-01T09:00:00+03:00"},
        headers=auth(),
    )
    assert withdrawn.status_code == 201
    assert withdrawn.json()["at"] == "2026-04-01T06:00:00Z"
    assert withdrawn.json()["register"] == "health"
    events = client.get(url, headers=auth()).json()["items"]
    assert [(e["given"], e["source"]) for e in events] == [(True, "assessment"), (False, "consent")]
    assert events[0]["assessment_id"] == created["assessment_id"]


def test_the_timeline_shows_consent_as_it_was_and_the_segment_as_it_is(
    client: TestClient, auth: Auth
) -> None:
    created = new_client(client, auth, consent={"health_register": True})
    client_id = created["client_id"]
    client.post(
        f"/v1/clients/{client_id}/consents",
        json={"register": "health", "given": False, "at": "2026-04-01T09:00:00+03:00"},
        headers=auth(),
    )
    history = client.get(f"/v1/clients/{client_id}/segment-history", headers=auth()).json()
    assert history["items"][0]["consent"]["health_register"] is True
    segment = client.get(f"/v1/clients/{client_id}/segment", headers=auth()).json()
    assert segment["consent"] == {"health_register": False, "since": "2026-04-01T06:00:00Z"}


def test_the_social_register_is_refused_with_a_clear_problem(
    client: TestClient, auth: Auth
) -> None:
    created = new_client(client, auth)
    response = client.post(
        f"/v1/clients/{created['client_id']}/consents",
        json={"register": "social", "given": True},
        headers=auth(),
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "register"
    assert "social care register" in problem["errors"][0]["message"]
    events = client.get(f"/v1/clients/{created['client_id']}/consents", headers=auth()).json()
    assert events["items"] == []


def test_consent_cannot_be_dated_in_the_future(client: TestClient, auth: Auth) -> None:
    created = new_client(client, auth)
    response = client.post(
        f"/v1/clients/{created['client_id']}/consents",
        json={"register": "health", "given": True, "at": "2999-01-01T00:00:00Z"},
        headers=auth(),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "at"


def test_recording_consent_needs_the_consent_scope(client: TestClient, auth: Auth) -> None:
    created = new_client(client, auth)
    response = client.post(
        f"/v1/clients/{created['client_id']}/consents",
        json={"register": "health", "given": True},
        headers=auth(scopes=["segments:read", "assessments:write"]),
    )
    assert response.status_code == 403


def test_a_later_assessment_answers_with_the_consent_in_force_when_it_took_effect(
    client: TestClient, auth: Auth
) -> None:
    created = new_client(client, auth, consent={"health_register": True})
    client.post(
        f"/v1/clients/{created['client_id']}/consents",
        json={"register": "health", "given": False, "at": "2026-04-01T09:00:00+03:00"},
        headers=auth(),
    )
    march = helsinki_assessment(effective_at="2026-03-01T10:00:00+02:00")  # the same person
    may = helsinki_assessment(effective_at="2026-05-01T10:00:00+03:00")
    before = client.post("/v1/assessments", json=march, headers=auth()).json()
    after = client.post("/v1/assessments", json=may, headers=auth()).json()

    assert before["client_id"] == after["client_id"] == created["client_id"]
    assert before["consent"]["health_register"] is True
    assert after["consent"]["health_register"] is False
