"""What a second hostile review from the README found: moments at the edges of time, a
database dropped or a SQLite file deleted under the running service."""

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import Auth, make_settings, migrate
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


def test_a_client_id_whose_characters_spell_a_code_can_be_asked_for(
    client: TestClient, auth: Auth
) -> None:
    # About one random UUID in 13,000 is like this one; that client was unreachable.
    client_id = "75cbc1b4-49e3-41cc-bb72-c151041314ea"
    segment = client.get(f"/v1/clients/{client_id}/segment", headers=auth())
    assert segment.status_code == 404, segment.text

    key = auth(**{"Idempotency-Key": client_id})
    submitted = client.post("/v1/assessments", json=helsinki_assessment(), headers=key)
    assert submitted.status_code == 201, submitted.text


def test_an_opaque_cursor_is_never_taken_for_an_identity_code(
    client: TestClient, auth: Auth
) -> None:
    # A cursor is base64 the service gave; by chance it could hold code-like characters.
    response = client.get("/v1/exports/segments", params={"since": "131052-308T"}, headers=auth())
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
