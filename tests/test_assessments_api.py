"""Submitting and reading assessments over HTTP, on the Helsinki model."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.conftest import Auth, TestDatabase
from tests.helpers import helsinki_assessment, hetu


def count(database: TestDatabase, table: str) -> int:
    return database.scalar(f"SELECT count(*) FROM {table}")


def test_submitting_kaija_gives_collaboration_with_explanation_and_location(
    client: TestClient, auth: Auth
) -> None:
    body = helsinki_assessment(
        "easy",
        "many",
        duration="continuous",
        consent={"health_register": True},
        effective_at="2026-11-20T10:00:00+02:00",
    )
    response = client.post("/v1/assessments", json=body, headers=auth(sub="nurse-1"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["Location"] == f"/v1/assessments/{created['assessment_id']}"
    assert created["suggested_segment"] == {
        "code": 3,
        "key": "collaboration",
        "name": created["segment"]["name"],
        "register_code": 3,
    }
    assert created["segment"]["code"] == 3
    assert created["overridden"] is False
    assert created["model"] == "helsinki-2023"
    assert created["model_version"] == "2023.1"
    assert created["effective_at"] == "2026-11-20T08:00:00Z"
    assert created["recorded_by"] == "nurse-1"
    assert created["consent"]["health_register"] is True
    assert created["status"] == "active"
    assert len(created["explanation"]) >= 3
    assert "131052" not in response.text


def test_reading_an_assessment_returns_what_creation_returned(
    client: TestClient, auth: Auth
) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    read = client.get(f"/v1/assessments/{created['assessment_id']}", headers=auth())
    assert read.status_code == 200
    assert read.json() == created


def test_explanations_follow_accept_language(client: TestClient, auth: Auth) -> None:
    body = helsinki_assessment("difficult", "few")
    english = client.post(
        "/v1/classify",
        json={"answers": body["answers"]},
        headers=auth(**{"Accept-Language": "en-GB,en;q=0.9"}),
    ).json()
    swedish = client.post(
        "/v1/classify",
        json={"answers": body["answers"]},
        headers=auth(**{"Accept-Language": "sv-FI"}),
    ).json()
    finnish = client.post("/v1/classify", json={"answers": body["answers"]}, headers=auth()).json()
    assert english["suggested_segment"]["name"] == "Support client"
    assert finnish["suggested_segment"]["name"] == "Tukiasiakkuus"
    assert (
        len({english["explanation"][0], swedish["explanation"][0], finnish["explanation"][0]}) == 3
    )


def test_classify_stores_nothing(client: TestClient, auth: Auth, database: TestDatabase) -> None:
    before = (count(database, "assessment"), count(database, "client"))
    response = client.post(
        "/v1/classify", json={"answers": {"coping": "easy", "risk_level": "few"}}, headers=auth()
    )
    assert response.status_code == 200
    assert response.json()["suggested_segment"]["code"] == 1
    assert (count(database, "assessment"), count(database, "client")) == before


def test_a_professional_overrides_the_suggestion_with_a_reason(
    client: TestClient, auth: Auth
) -> None:
    body = helsinki_assessment(
        "easy", "few", decided_segment=2, override_reason="Recent bereavement; coping is fragile."
    )
    created = client.post("/v1/assessments", json=body, headers=auth()).json()
    assert created["suggested_segment"]["code"] == 1
    assert created["segment"]["code"] == 2
    assert created["overridden"] is True
    assert created["override_reason"] == "Recent bereavement; coping is fragile."


def test_effective_at_defaults_to_now(client: TestClient, auth: Auth) -> None:
    before = datetime.now(UTC)
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    effective = datetime.fromisoformat(created["effective_at"])
    assert before <= effective <= datetime.now(UTC)
    assert created["effective_at"] == created["recorded_at"]


def test_the_same_person_is_one_client_and_dash_and_y_codes_are_two(
    client: TestClient, auth: Auth
) -> None:
    dash, y_sign = hetu("010105", "-"), hetu("010105", "Y")
    first = client.post(
        "/v1/assessments", json=helsinki_assessment(client={"hetu": dash}), headers=auth()
    ).json()
    again = client.post(
        "/v1/assessments", json=helsinki_assessment(client={"hetu": dash}), headers=auth()
    ).json()
    other = client.post(
        "/v1/assessments", json=helsinki_assessment(client={"hetu": y_sign}), headers=auth()
    ).json()
    assert first["client_id"] == again["client_id"]
    assert other["client_id"] != first["client_id"]


def test_clients_can_be_identified_by_the_calling_systems_own_id(
    client: TestClient, auth: Auth
) -> None:
    identity = {"external_id": {"system": "urn:oid:1.2.246.10.1", "value": "A-1001"}}
    created = client.post(
        "/v1/assessments", json=helsinki_assessment(client=identity), headers=auth()
    ).json()
    found = client.post("/v1/clients/lookup", json=identity, headers=auth())
    assert found.status_code == 200
    assert found.json() == {"client_id": created["client_id"]}


def test_lookup_by_identity_code_and_unknown_is_404(client: TestClient, auth: Auth) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    found = client.post("/v1/clients/lookup", json={"hetu": "131052-308T"}, headers=auth())
    assert found.json()["client_id"] == created["client_id"]
    unknown = client.post("/v1/clients/lookup", json={"hetu": hetu("020202", "A")}, headers=auth())
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


def test_an_assessment_cannot_take_effect_in_the_future(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = client.post(
        "/v1/assessments", json=helsinki_assessment(effective_at=future), headers=auth()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "effective_at"
    assert count(database, "client") == 0


def test_recording_consent_with_an_assessment_needs_the_consent_scope(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    body = helsinki_assessment(consent={"health_register": True})
    response = client.post("/v1/assessments", json=body, headers=auth(scopes=["assessments:write"]))
    assert response.status_code == 403
    assert count(database, "assessment") == 0
