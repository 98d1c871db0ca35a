"""Bad input: always a problem+json naming the field, never echoing an identity code, and
nothing written."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Auth, TestDatabase
from tests.helpers import helsinki_assessment

TABLES = ("client", "assessment", "consent_event", "retraction", "idempotency_record")


def written(database: TestDatabase) -> dict[str, int]:
    return {t: database.scalar(f"SELECT count(*) FROM {t}") for t in TABLES}


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("bad checksum", helsinki_assessment(client={"hetu": "131052-308U"}), "client.hetu"),
    ("impossible date", helsinki_assessment(client={"hetu": "310252-308T"}), "client.hetu"),
    ("unknown answer value", helsinki_assessment(coping="sometimes"), "answers.coping"),
    (
        "missing answer",
        {"client": {"hetu": "131052-308T"}, "answers": {"coping": "easy"}},
        "answers.risk_level",
    ),
    (
        "future effective_at",
        helsinki_assessment(effective_at="2999-01-01T00:00:00+02:00"),
        "effective_at",
    ),
    ("override without reason", helsinki_assessment(decided_segment=4), "override_reason"),
    ("unknown model", helsinki_assessment(model="oulu-2030"), "model"),
    ("unknown field", helsinki_assessment(priority="high"), "priority"),
    ("naive effective_at", helsinki_assessment(effective_at="2026-01-01T10:00:00"), "effective_at"),
    (
        "decided segment not in model",
        helsinki_assessment(decided_segment=7, override_reason="x"),
        "decided_segment",
    ),
    (
        "both identities",
        helsinki_assessment(
            client={"hetu": "131052-308T", "external_id": {"system": "urn:x", "value": "1"}}
        ),
        "client",
    ),
    (
        "blank override reason",
        helsinki_assessment(decided_segment=2, override_reason="  "),
        "override_reason",
    ),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_assessments_are_refused_naming_the_field_and_write_nothing(
    client: TestClient,
    auth: Auth,
    database: TestDatabase,
    case: str,
    body: dict[str, Any],
    field: str,
) -> None:
    before = written(database)
    response = client.post("/v1/assessments", json=body, headers=auth())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] and problem["type"]
    assert field in [e["field"] for e in problem["errors"]], problem
    assert "131052" not in response.text and "310252" not in response.text
    assert written(database) == before


def test_malformed_json_is_a_400_problem(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    before = written(database)
    response = client.post(
        "/v1/assessments",
        content=b'{"client": {"hetu": "131052-308T"',
        headers=auth(**{"Content-Type": "application/json"}),
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "131052" not in response.text
    assert written(database) == before


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    before = written(database)
    huge = helsinki_assessment(details={"note": "x" * 2_000_000})
    response = client.post("/v1/assessments", json=huge, headers=auth())
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert written(database) == before


def test_a_chunked_body_over_the_limit_is_refused(client: TestClient, auth: Auth) -> None:
    def chunks() -> Any:
        yield b'{"client": {"hetu": "131052-308T"}, "details": {"note": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}}'

    response = client.post(
        "/v1/assessments", content=chunks(), headers=auth(**{"Content-Type": "application/json"})
    )
    assert response.status_code == 413


def test_unknown_paths_are_problems_too(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_an_unknown_assessment_is_404(client: TestClient, auth: Auth) -> None:
    response = client.get("/v1/assessments/4f1f4a4e-2d4c-4b0e-9a53-0e9f7c1d2b11", headers=auth())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_wrong_method_names_every_allowed_one(client: TestClient, auth: Auth) -> None:
    response = client.delete(
        "/v1/clients/4f1f4a4e-2d4c-4b0e-9a53-0e9f7c1d2b11/consents", headers=auth()
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == "application/problem+json"
