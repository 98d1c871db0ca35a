"""What a second hostile review from the README found: moments at the edges of time, a
database dropped or a SQLite file deleted under the running service."""

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import Auth, _admin, make_settings, migrate
from tests.helpers import helsinki_assessment

EDGE_OF_TIME = "9999-12-31T23:59:59-14:00"  # after the last moment UTC can hold
BEFORE_1900_IN_UTC = "1900-01-01T00:00:00+14:00"  # 1899-12-31T10:00Z


@pytest.mark.parametrize("moment", [EDGE_OF_TIME, BEFORE_1900_IN_UTC])
def test_moments_past_either_edge_are_refused_naming_the_field(
    client: TestClient, auth: Auth, moment: str
) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    segment = client.get(
        f"/v1/clients/{created['client_id']}/segment", params={"at": moment}, headers=auth()
    )
    assert segment.status_code == 422, segment.text
    assert [e["field"] for e in segment.json()["errors"]] == ["at"]

    body = helsinki_assessment(effective_at=moment)
    submitted = client.post("/v1/assessments", json=body, headers=auth())
    assert submitted.status_code == 422, submitted.text
    assert [e["field"] for e in submitted.json()["errors"]] == ["effective_at"]


def test_a_moment_is_answered_in_utc(client: TestClient, auth: Auth) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    segment = client.get(
        f"/v1/clients/{created['client_id']}/care-team",
        params={"at": "2030-01-01T02:00:00+02:00"},
        headers=auth(),
    )
    # Later than now: whatever the answer, the moment it names is in UTC.
    if segment.status_code == 200 and "at" in segment.json():
        assert segment.json()["at"].startswith("2030-01-01T00:00:00")


def test_a_sqlite_file_deleted_under_the_service_is_a_503_not_a_silent_loss(
    tmp_path: Path, auth: Auth
) -> None:
    database = tmp_path / "gone.db"
    migrate(f"sqlite:///{database}")
    app = create_app(make_settings(tmp_path, database_url=f"sqlite:///{database}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        first = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
        assert first.status_code == 201, first.text
        for path in tmp_path.glob("gone.db*"):
            os.remove(path)

        after = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())

        assert after.status_code == 503, after.text
        assert after.headers["content-type"].startswith("application/problem+json")
        assert "Retry-After" in after.headers
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unreachable"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_database_that_does_not_exist_is_a_503_everywhere(
    backend: str, tmp_path: Path, auth: Auth
) -> None:
    base = os.environ["TEST_DATABASE_URL"].rsplit("/", 1)[0]
    app = create_app(make_settings(tmp_path, database_url=f"{base}/segmentti_no_such_database"))
    with TestClient(app, raise_server_exceptions=False) as client:
        write = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
        ready = client.get("/readyz")

    assert write.status_code == 503, write.text
    assert "Retry-After" in write.headers
    assert ready.status_code == 503 and ready.json()["database"] == "unreachable"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_database_closed_to_connections_is_a_503_and_opens_again(
    backend: str, committed_url: str, committed_client: TestClient, auth: Auth
) -> None:
    name = sa.make_url(committed_url).database
    created = committed_client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
    segment_url = f"/v1/clients/{created.json()['client_id']}/segment"
    _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        read = committed_client.get(segment_url, headers=auth())
        write = committed_client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
        ready = committed_client.get("/readyz")
    finally:
        _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    for refused in (read, write):
        assert refused.status_code == 503, refused.text
        assert "Retry-After" in refused.headers
    assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
    assert committed_client.get(segment_url, headers=auth()).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/v1/clients/00000000-0000-0000-0000-000000000000/segment?hetu=131052-308T",
        "/v1/clients/00000000-0000-0000-0000-000000000000/segment?131052-308T",
        "/v1/clients/131052-308T/segment",
        "/v1/clients/131052%2D308T/segment",
    ],
)
def test_an_identity_code_in_a_url_is_refused_before_anything_reads_it(
    client: TestClient, auth: Auth, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get(url, headers=auth())

    assert response.status_code == 400
    assert response.json()["type"].endswith("identity-code-in-url")
    assert "131052" not in response.text
    assert "131052" not in caplog.text


def test_a_code_dressed_as_a_uuid_is_refused_in_the_url_and_as_a_key(
    client: TestClient, auth: Auth
) -> None:
    # 131052-0040 inside a UUID's shape; the service never issues such an id (app/ids.py).
    dressed = "00131052-0040-4abc-8def-0123456789ab"
    segment = client.get(f"/v1/clients/{dressed}/segment", headers=auth())
    assert segment.status_code == 400, segment.text
    assert segment.json()["type"].endswith("identity-code-in-url")

    key = auth(**{"Idempotency-Key": dressed})
    submitted = client.post("/v1/assessments", json=helsinki_assessment(), headers=key)
    assert submitted.status_code == 422, submitted.text
    assert [e["field"] for e in submitted.json()["errors"]] == ["Idempotency-Key"]
    assert "131052" not in submitted.text


@pytest.mark.parametrize(
    "url",
    [
        "/v1/exports/segments?since=131052-308T",
        "/v1/worklists/mine?after=131052-308T",
        "/v1/clients/00000000-0000-0000-0000-000000000000/access-log?before=131052-308T",
    ],
)
def test_a_code_typed_where_a_cursor_belongs_is_refused_as_a_code(
    client: TestClient, auth: Auth, url: str
) -> None:
    response = client.get(url, headers=auth())
    assert response.status_code == 400
    assert response.json()["type"].endswith("identity-code-in-url")


def test_an_opaque_cursor_is_never_taken_for_an_identity_code(
    client: TestClient, auth: Auth
) -> None:
    # A cursor is base64 the service gave; by chance it could hold code-like characters.
    response = client.get(
        "/v1/exports/segments", params={"since": "Ab131052-308Tcd"}, headers=auth()
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("bad-cursor")


@pytest.mark.parametrize(
    "body", [b'{"a": 1, "a": 2}', b'{"text": "\\ud800"}', b"[" * 100 + b"]" * 100, b"{"]
)
def test_a_body_that_cannot_be_read_names_the_body(
    client: TestClient, auth: Auth, body: bytes
) -> None:
    response = client.post(
        "/v1/assessments", content=body, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body"]
