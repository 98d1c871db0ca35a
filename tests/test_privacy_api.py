"""The identity code is special-category data: never stored in clear, never logged, never in
an error."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.auth import mint_token
from tests.conftest import DATA_KEY, INDEX_KEY, JWT_SECRET, ROOT, Auth, TestDatabase, migrate
from tests.helpers import helsinki_assessment, hetu
from tests.processes import free_port, wait_until_ready

CODE = hetu("240377", "-", 456)


def all_stored_text(database: TestDatabase) -> str:
    chunks = []
    for table in ("client", "assessment", "consent_event", "access_log", "idempotency_record"):
        for row in database.rows(f"SELECT * FROM {table}"):
            chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_the_identity_code_is_not_stored_in_clear(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    response = client.post(
        "/v1/assessments",
        json=helsinki_assessment(client={"hetu": CODE}),
        headers=auth(**{"Idempotency-Key": "privacy-1"}),
    )
    assert response.status_code == 201
    stored = all_stored_text(database)
    assert CODE not in stored
    assert CODE[:6] not in stored


def test_no_log_line_carries_an_identity_code(
    client: TestClient, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/v1/assessments", json=helsinki_assessment(client={"hetu": CODE}), headers=auth())
    client.post(
        "/v1/assessments",
        json=helsinki_assessment(client={"hetu": CODE[:-1] + "X"}),
        headers=auth(),
    )
    client.post("/v1/clients/lookup", json={"hetu": CODE}, headers=auth())
    client.post("/v1/clients/lookup", json={"hetu": CODE}, headers=auth(org="kymenlaakso"))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert CODE[:6] not in logged


def test_errors_never_echo_the_code_even_when_the_body_is_wrong_elsewhere(
    client: TestClient, auth: Auth
) -> None:
    body = helsinki_assessment(client={"hetu": CODE, "name": CODE}, coping=CODE)
    response = client.post("/v1/assessments", json=body, headers=auth())
    assert response.status_code == 422
    assert CODE[:6] not in response.text


def test_the_servers_log_never_shows_a_code_put_in_a_url(tmp_path: Path) -> None:
    """Run as deployed (uvicorn), call with an identity code where a client id belongs."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    migrate(url)
    port = free_port()
    env = {
        **os.environ,
        "SEGMENTTI_DATABASE_URL": url,
        "SEGMENTTI_JWT_SECRET": JWT_SECRET,
        "SEGMENTTI_DATA_KEY": DATA_KEY,
        "SEGMENTTI_INDEX_KEY": INDEX_KEY,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", server)
        token = mint_token(JWT_SECRET, sub="x", org="helsinki", scopes=["segments:read"])
        response = httpx.get(
            f"http://127.0.0.1:{port}/v1/clients/{CODE}/segment",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 400  # refused at the edge, before any route reads it
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "GET unmatched 400" in output
    assert CODE[:6] not in output
