"""Every access to a client's data is attributable (Act 703/2023)."""

from fastapi.testclient import TestClient

from tests.conftest import Auth
from tests.helpers import helsinki_assessment


def test_reads_and_writes_are_logged_with_actor_and_purpose(client: TestClient, auth: Auth) -> None:
    created = client.post(
        "/v1/assessments",
        json=helsinki_assessment(),
        headers=auth(sub="nurse-1", **{"X-Purpose": "care"}),
    ).json()
    client_id = created["client_id"]
    client.get(f"/v1/clients/{client_id}/segment", headers=auth(sub="doctor-2"))
    client.get(f"/v1/clients/{client_id}/segment-history", headers=auth(sub="doctor-2"))
    log = client.get(f"/v1/clients/{client_id}/access-log", headers=auth(sub="auditor"))
    assert log.status_code == 200
    items = log.json()["items"]
    assert [(i["actor"], i["operation"]) for i in items] == [
        ("doctor-2", "read_segment_history"),
        ("doctor-2", "read_segment"),
        ("nurse-1", "submit_assessment"),
    ]
    assert items[-1]["purpose"] == "care"
    assert all(i["outcome"] == "ok" for i in items)


def test_the_access_log_needs_the_audit_scope(client: TestClient, auth: Auth) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    response = client.get(
        f"/v1/clients/{created['client_id']}/access-log", headers=auth(scopes=["segments:read"])
    )
    assert response.status_code == 403


def test_a_refused_read_is_logged_as_refused(client: TestClient, auth: Auth) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    client_id = created["client_id"]
    client.post(
        f"/v1/assessments/{created['assessment_id']}/retraction",
        json={"reason": "wrong person"},
        headers=auth(),
    )
    assert client.get(f"/v1/clients/{client_id}/segment", headers=auth()).status_code == 404
    items = client.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()["items"]
    assert items[0]["operation"] == "read_segment"
    assert items[0]["outcome"] == "no_segment"
