"""The app as deployed: one session per request from its own engine (no shared test session),
on a freshly migrated database of each kind."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import Auth, fresh_postgres_database, make_settings, migrate
from tests.helpers import helsinki_assessment


@pytest.fixture
def deployed(backend: str, tmp_path: Path) -> Iterator[TestClient]:
    url = (
        f"sqlite:///{tmp_path / 'deployed.db'}"
        if backend == "sqlite"
        else fresh_postgres_database("deployed")
    )
    migrate(url)
    with TestClient(create_app(make_settings(tmp_path, database_url=url))) as client:
        yield client


def test_writes_refusals_and_replays_with_a_session_per_request(
    deployed: TestClient, auth: Auth
) -> None:
    headers = auth(**{"Idempotency-Key": "deployed-1"})
    first = deployed.post("/v1/assessments", json=helsinki_assessment(), headers=headers)
    again = deployed.post("/v1/assessments", json=helsinki_assessment(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    client_id = first.json()["client_id"]
    retraction = f"/v1/assessments/{first.json()['assessment_id']}/retraction"
    assert deployed.post(retraction, json={"reason": "test"}, headers=auth()).status_code == 201
    assert deployed.post(retraction, json={"reason": "test"}, headers=auth()).status_code == 409
    missing = deployed.get(f"/v1/clients/{client_id}/segment", headers=auth())
    assert missing.status_code == 404
    log = deployed.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()["items"]
    assert [i["outcome"] for i in log][:2] == ["no_segment", "ok"]
    assert "replayed" in [i["outcome"] for i in log]
    assert deployed.get("/readyz").status_code == 200


def test_a_refused_write_is_answered_and_logged_at_once(deployed: TestClient, auth: Auth) -> None:
    # The refusal's log line is a write of its own: on SQLite it needs the write turn the
    # refused write held, which must be given back first (it was kept until the busy timeout,
    # and the refusal became a 503 that nobody logged).
    client_id = deployed.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()[
        "client_id"
    ]
    consent = {"register": "health", "given": True}
    other_tenant = auth(org="vantaa-kerava", sub="nurse@vantaa.example")
    refused = deployed.post(f"/v1/clients/{client_id}/consents", json=consent, headers=other_tenant)
    unknown = deployed.post(
        "/v1/clients/6f1c8e52-2b7e-4c1a-9d3e-5a7b9c0d1e2f/consents", json=consent, headers=auth()
    )

    assert refused.status_code == 404, refused.text
    assert unknown.status_code == 404, unknown.text
    log = deployed.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()["items"]
    assert any(i["actor"].startswith("nurse@vantaa.example") for i in log), log
