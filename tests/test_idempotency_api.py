"""`Idempotency-Key`: a retry returns the first response and writes nothing."""

from fastapi.testclient import TestClient

from tests.conftest import Auth, TestDatabase
from tests.helpers import helsinki_assessment


def assessments(database: TestDatabase) -> int:
    return database.scalar("SELECT count(*) FROM assessment")


def test_a_retried_submission_returns_the_first_response_and_writes_nothing(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    body = helsinki_assessment()
    headers = auth(**{"Idempotency-Key": "apotti-req-1"})
    first = client.post("/v1/assessments", json=body, headers=headers)
    retry = client.post("/v1/assessments", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert assessments(database) == 1


def test_the_same_key_with_another_body_is_422(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    headers = auth(**{"Idempotency-Key": "apotti-req-2"})
    client.post("/v1/assessments", json=helsinki_assessment("easy", "few"), headers=headers)
    other = client.post(
        "/v1/assessments", json=helsinki_assessment("easy", "many"), headers=headers
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert assessments(database) == 1


def test_keys_are_per_tenant(client: TestClient, auth: Auth, database: TestDatabase) -> None:
    body = helsinki_assessment()
    first = client.post(
        "/v1/assessments", json=body, headers=auth(org="helsinki", **{"Idempotency-Key": "k"})
    )
    second = client.post(
        "/v1/assessments", json=body, headers=auth(org="vantaa-kerava", **{"Idempotency-Key": "k"})
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["client_id"] != second.json()["client_id"]


def test_retried_consent_and_retraction_write_once(client: TestClient, auth: Auth) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    consent_url = f"/v1/clients/{created['client_id']}/consents"
    headers = auth(**{"Idempotency-Key": "consent-1"})
    body = {"register": "health", "given": True, "at": "2026-01-01T00:00:00Z"}
    assert client.post(consent_url, json=body, headers=headers).status_code == 201
    assert client.post(consent_url, json=body, headers=headers).status_code == 201
    assert len(client.get(consent_url, headers=auth()).json()["items"]) == 1
    retraction_url = f"/v1/assessments/{created['assessment_id']}/retraction"
    headers = auth(**{"Idempotency-Key": "retraction-1"})
    assert client.post(retraction_url, json={"reason": "r"}, headers=headers).status_code == 201
    assert client.post(retraction_url, json={"reason": "r"}, headers=headers).status_code == 201


def test_a_key_is_its_callers_another_professional_is_not_replayed_to(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    body = helsinki_assessment(consent={"health_register": True})
    first = client.post(
        "/v1/assessments", json=body, headers=auth(**{"Idempotency-Key": "shared-key"})
    )
    # Without consents:write this caller could not have recorded the consent in the body.
    other = auth(
        sub="aide@helsinki.example",
        scopes=["assessments:write"],
        **{"Idempotency-Key": "shared-key"},
    )
    replay = client.post("/v1/assessments", json=body, headers=other)

    assert first.status_code == 201
    assert replay.status_code == 422, replay.text
    assert [e["field"] for e in replay.json()["errors"]] == ["Idempotency-Key"]
    assert "nurse@" not in replay.text
    assert assessments(database) == 1


def test_a_retry_with_fewer_scopes_is_not_replayed_what_it_could_not_write(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    body = helsinki_assessment(consent={"health_register": True})
    first = client.post(
        "/v1/assessments", json=body, headers=auth(**{"Idempotency-Key": "scoped-key"})
    )
    # The same professional, with a token that could not have recorded the consent.
    narrower = auth(scopes=["assessments:write"], **{"Idempotency-Key": "scoped-key"})
    retry = client.post("/v1/assessments", json=body, headers=narrower)

    assert first.status_code == 201
    assert retry.status_code == 422, retry.text
    assert "Idempotent-Replayed" not in retry.headers
    assert [e["field"] for e in retry.json()["errors"]] == ["Idempotency-Key"]
    assert assessments(database) == 1


def test_another_caller_learns_nothing_of_the_request_that_used_the_key(
    client: TestClient, auth: Auth
) -> None:
    client.post(
        "/v1/assessments",
        json=helsinki_assessment(),
        headers=auth(**{"Idempotency-Key": "guessed-key"}),
    )
    other = auth(sub="aide@helsinki.example", **{"Idempotency-Key": "guessed-key"})
    same_body = client.post("/v1/assessments", json=helsinki_assessment(), headers=other)
    other_body = client.post(
        "/v1/assessments", json=helsinki_assessment(coping="hard"), headers=other
    )

    assert same_body.status_code == other_body.status_code == 422
    assert same_body.json()["errors"] == other_body.json()["errors"]
