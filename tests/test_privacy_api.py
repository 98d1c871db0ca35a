"""The identity code is special-category data: never stored in clear, never logged, never in
an error."""

import logging

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import Auth
from tests.helpers import helsinki_assessment, hetu

CODE = hetu("240377", "-", 456)


def all_stored_text(session: Session) -> str:
    chunks = []
    for table in ("client", "assessment", "consent_event", "access_log", "idempotency_record"):
        for row in session.execute(sa.text(f"SELECT * FROM {table}")):  # noqa: S608
            chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_the_identity_code_is_not_stored_in_clear(
    client: TestClient, auth: Auth, session: Session
) -> None:
    response = client.post(
        "/v1/assessments",
        json=helsinki_assessment(client={"hetu": CODE}),
        headers=auth(**{"Idempotency-Key": "privacy-1"}),
    )
    assert response.status_code == 201
    stored = all_stored_text(session)
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
