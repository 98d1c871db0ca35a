"""On PostgreSQL a submission without consent is one autocommitted call of the migration's
`segmentti_submit` (issue 10): it must write exactly what the statements it stands for
write — the client, the assessment, its access-log row, the projections — and answer the
same, for a new client and a known one with its consents."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.assessments import service
from app.clients.schemas import ClientIdentity
from app.db import Database
from tests.care.conftest import iso
from tests.care.test_segment_now import now_kept_true, spans_kept_true
from tests.conftest import Auth, TestDatabase
from tests.helpers import hetu

NOW = datetime.now(UTC)
# Volatile in every response: what the two paths cannot share.
OWN = {"assessment_id", "client_id", "recorded_at", "sequence", "links", "location"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, database: TestDatabase) -> Iterator[list[str]]:
    """The one-call writes made, by the name of their function."""
    made: list[str] = []
    original = type(database).write_alone

    async def counted(self: Database, statement: Any, parameters: Any) -> Any:
        made.append(str(statement).split("FROM ", 1)[1].split("(", 1)[0])
        return await original(self, statement, parameters)  # type: ignore[arg-type]

    monkeypatch.setattr(type(database), "write_alone", counted)
    yield made


def scenario(
    client: TestClient, auth: Auth, person: int, now: datetime
) -> tuple[str, list[dict[str, Any]]]:
    """A first decision, a later one, the first retracted, a back-dated one, one at the same
    moment as another, with consent given and withdrawn between them: the client's id, and
    each response as the two paths share it."""
    who = {"hetu": hetu("240375", individual=600 + person)}

    def days_ago(days: int) -> str:
        return iso(now - timedelta(days=days))

    moment = days_ago(20)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("assess", {"answers": ("difficult", "few"), "effective_at": days_ago(40)}),
        ("consent", {"health_register": True, "at": days_ago(35)}),
        ("assess", {"answers": ("easy", "many"), "effective_at": moment}),
        ("retract", {"nth": 0}),  # the first: the next call's spans must leave it out
        ("assess", {"answers": ("difficult", "many"), "effective_at": days_ago(60)}),
        ("consent", {"health_register": False, "at": days_ago(10)}),
        ("assess", {"answers": ("easy", "few"), "effective_at": moment}),
        ("assess", {"answers": ("difficult", "many"), "effective_at": days_ago(5)}),
    ]
    shown = []
    client_id = None
    written: list[str] = []
    for kind, step in steps:
        if kind == "retract":
            retracted = client.post(
                f"/v1/assessments/{written[step['nth']]}/retraction",
                json={"reason": "entered for the wrong client"},
                headers=auth(),
            )
            assert retracted.status_code == 201, retracted.text
            continue
        if kind == "consent":
            body = {"register": "health", "given": step["health_register"], "at": step["at"]}
            recorded = client.post(f"/v1/clients/{client_id}/consents", json=body, headers=auth())
            assert recorded.status_code == 201, recorded.text
            continue
        coping, risk = step["answers"]
        answered = client.post(
            "/v1/assessments",
            json={
                "client": who,
                "model": "helsinki-2023",
                "answers": {"coping": coping, "risk_level": risk},
                "effective_at": step["effective_at"],
            },
            headers=auth(),
        )
        assert answered.status_code == 201, answered.text
        client_id = answered.json()["client_id"]
        written.append(answered.json()["assessment_id"])
        shown.append({k: v for k, v in answered.json().items() if k not in OWN})
    assert client_id is not None
    return client_id, shown


def rows_of(database: TestDatabase, client: str) -> dict[str, list[Any]]:
    """What was written for a client, every column but ids and clock times (PostgreSQL)."""
    client_id = uuid.UUID(client)
    return {
        "client": database.rows(
            "SELECT tenant, identity_kind, created_by, birth_date, last_sequence FROM client "
            "WHERE id = :id",
            id=client_id,
        ),
        "assessment": database.rows(
            "SELECT tenant, sequence, model_id, model_version, answers, details, suggested_code, "
            "decided_code, override_reason, explanation, warnings, attention, effective_at, "
            "recorded_by, source, discussed_with_client, "
            "change_tx = pg_current_xact_id()::text::bigint "
            "FROM assessment WHERE client_id = :id ORDER BY sequence",
            id=client_id,
        ),
        "access_log": database.rows(
            "SELECT tenant, actor, operation, purpose, outcome FROM access_log "
            "WHERE client_id = :id ORDER BY at, operation",
            id=client_id,
        ),
        "segment_now": database.rows(
            "SELECT n.tenant, a.sequence, n.model_id, n.model_version, n.decided_code, "
            "n.valid_from FROM segment_now n JOIN assessment a ON a.id = n.assessment_id "
            "WHERE n.client_id = :id",
            id=client_id,
        ),
        "segment_span": database.rows(
            "SELECT s.tenant, a.sequence, s.model_id, s.model_version, s.decided_code, "
            "s.valid_from, s.valid_to FROM segment_span s JOIN assessment a "
            "ON a.id = s.assessment_id WHERE s.client_id = :id ORDER BY a.sequence",
            id=client_id,
        ),
    }


def test_one_call_writes_and_answers_what_the_statements_do(
    client: TestClient,
    auth: Auth,
    database: TestDatabase,
    calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    if backend != "postgresql":
        pytest.skip("the one call is PostgreSQL's (a function a migration defines)")
    first, by_call = scenario(client, auth, person=1, now=NOW)
    assert calls == ["segmentti_submit"] * 5  # every submission of the scenario, none else
    written_by_call = rows_of(database, first)

    async def unavailable(*_: Any) -> None:
        return None  # as when the keys are not current: the statements, as ever

    monkeypatch.setattr(service, "_submit_in_one_call", unavailable)
    second, by_statements = scenario(client, auth, person=2, now=NOW)
    written_by_statements = rows_of(database, second)

    assert first != second
    assert by_call == by_statements
    assert written_by_call == written_by_statements
    # The client row's protected identity, as the statements write it.
    protector = client.app.state.runtime.protector  # type: ignore[attr-defined]
    for client_id, person in ((first, 1), (second, 2)):
        code = hetu("240375", individual=600 + person)
        index, kind, encrypted, system, value = database.rows(
            "SELECT identity_index, identity_kind, hetu_encrypted, external_system, "
            "external_value FROM client WHERE id = :id",
            id=uuid.UUID(client_id),
        )[0]
        identity = ClientIdentity.model_validate({"hetu": code}).identity()
        assert index == protector.index("helsinki", identity)
        assert (kind, system, value) == ("hetu", None, None)
        assert protector.decrypt(encrypted) == code
    assert [row[1] for row in written_by_call["assessment"]] == [1, 2, 3, 4, 5]
    # The first retracted, the second replaced where it began: three spans.
    assert len(written_by_call["segment_span"]) == 3
    # Withdrawn ten days ago: the latest decision is in force without consent, and says so.
    assert by_call[-1]["consent"]["health_register"] is False


def test_a_known_clients_projections_after_one_call_are_the_timelines(
    client: TestClient, auth: Auth, database: TestDatabase, calls: list[str], backend: str
) -> None:
    client_id, _ = scenario(client, auth, person=3, now=datetime.now(UTC))
    now_kept_true(database, client_id)
    assert spans_kept_true(database, client_id) == 3
    assert calls == (["segmentti_submit"] * 5 if backend == "postgresql" else [])


def test_writes_with_other_work_keep_their_one_transaction(
    client: TestClient, auth: Auth, calls: list[str]
) -> None:
    """A consent recorded with the assessment, or an Idempotency-Key (its claim and the
    stored response share the write's transaction), take the statements' path."""
    body = {
        "client": {"hetu": hetu("240375", individual=650)},
        "model": "helsinki-2023",
        "answers": {"coping": "easy", "risk_level": "few"},
        "consent": {"health_register": True},
    }
    assert client.post("/v1/assessments", json=body, headers=auth()).status_code == 201
    del body["consent"]
    keyed = {**auth(), "Idempotency-Key": "one-call-test-1"}
    assert client.post("/v1/assessments", json=body, headers=keyed).status_code == 201
    assert client.post("/v1/assessments", json=body, headers=keyed).status_code == 201  # replay
    assert calls == []
