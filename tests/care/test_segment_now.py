"""Every write that changes a timeline keeps the segment in force per client, and the spans
each decision was in force, true: a new assessment, a back-dated one, a retraction and an
import — on both databases."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.assessments import queries
from app.assessments.models import assessment, segment_span
from app.assessments.models import segment_now as segment_now_table
from app.imports import service as import_service
from tests.care.conftest import Assess, days_ago, iso
from tests.conftest import Auth, TestDatabase
from tests.helpers import hetu


def segment_now(database: TestDatabase, client_id: str) -> tuple[str, int] | None:
    rows = database.rows(
        "SELECT assessment_id, decided_code FROM segment_now WHERE client_id = :id",
        # SQLite keeps a UUID as its 32 hex digits
        id=uuid.UUID(client_id) if database.dialect == "postgresql" else uuid.UUID(client_id).hex,
    )
    return (str(uuid.UUID(str(rows[0][0]))), rows[0][1]) if rows else None


SPAN_COLUMNS = (
    "assessment_id", "tenant", "client_id", "model_id", "model_version", "decided_code",
    "valid_from", "valid_to",
)  # fmt: skip


def spans_kept_true(database: TestDatabase, client_id: str) -> int:
    """Asserts the kept spans of the client are those its timeline gives; returns how many."""
    cid = uuid.UUID(client_id)
    columns = SPAN_COLUMNS

    async def both() -> tuple[list[Any], list[Any]]:
        kept = sa.select(*(segment_span.c[c] for c in columns)).where(
            segment_span.c.client_id == cid
        )
        derived = queries.spans(assessment.c.client_id == cid).subquery()
        connection = database.connection
        return (
            list((await connection.execute(kept.order_by(segment_span.c.valid_from))).all()),
            list(
                (
                    await connection.execute(
                        sa.select(*(derived.c[c] for c in columns)).order_by(derived.c.valid_from)
                    )
                ).all()
            ),
        )

    kept, derived = database.portal.call(both)
    assert kept == derived
    return len(kept)


def now_kept_true(database: TestDatabase, client_id: str) -> None:
    """Asserts the client's kept segment in force, every column, is the one its timeline
    gives now."""
    cid = uuid.UUID(client_id)

    async def both() -> tuple[list[Any], list[Any]]:
        derived = queries.in_force(datetime.now(UTC), assessment.c.client_id == cid).subquery()
        connection = database.connection
        kept = sa.select(*(segment_now_table.c[c] for c in NOW_COLUMNS)).where(
            segment_now_table.c.client_id == cid
        )
        return (
            list((await connection.execute(kept)).all()),
            list(
                (
                    await connection.execute(
                        sa.select(
                            derived.c.client_id,
                            derived.c.tenant,
                            derived.c.id,
                            derived.c.model_id,
                            derived.c.model_version,
                            derived.c.decided_code,
                            derived.c.effective_at,
                        )
                    )
                ).all()
            ),
        )

    kept, derived = database.portal.call(both)
    assert kept == derived


NOW_COLUMNS = (
    "client_id", "tenant", "assessment_id", "model_id", "model_version", "decided_code",
    "valid_from",
)  # fmt: skip


def in_force(client: TestClient, auth: Auth, client_id: str) -> tuple[str, int] | None:
    response = client.get(f"/v1/clients/{client_id}/segment", headers=auth())
    if response.status_code == 404:
        return None
    body = response.json()
    return body["assessment_id"], body["code"]


def test_each_timeline_write_keeps_the_segment_now_true(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    person = 7
    client_id = assess(person, segment=2, ago=30)
    assert segment_now(database, client_id) == in_force(client, auth, client_id)
    assert spans_kept_true(database, client_id) == 1
    assert segment_now(database, client_id)[1] == 2  # type: ignore[index]

    assess(person, segment=4, ago=60)  # back-dated: the later decision stays in force
    assert segment_now(database, client_id)[1] == 2  # type: ignore[index]
    assert spans_kept_true(database, client_id) == 2  # the back-dated one ends where it began
    newest = assess(person, segment=3, ago=1)
    assert newest == client_id
    kept = segment_now(database, client_id)
    assert kept == in_force(client, auth, client_id) and kept[1] == 3  # type: ignore[index]
    assert spans_kept_true(database, client_id) == 3

    retraction = f"/v1/assessments/{kept[0]}/retraction"  # type: ignore[index]
    assert client.post(retraction, json={"reason": "wrong client"}, headers=auth()).is_success
    assert segment_now(database, client_id) == in_force(client, auth, client_id)
    assert segment_now(database, client_id)[1] == 2  # type: ignore[index]
    assert spans_kept_true(database, client_id) == 2

    line = {
        "client": {"hetu": hetu(f"{(person % 28) + 1:02d}0190", individual=200 + person)},
        "model": "helsinki-2023",
        "segment_code": 1,
        "effective_at": iso(days_ago(0.5)),
        "recorded_by": "register",
    }
    imported = client.post(
        "/v1/imports/segments",
        content=json.dumps(line) + "\n",
        headers={**auth(), "Content-Type": "application/x-ndjson"},
    )
    assert imported.status_code == 200, imported.text
    assert segment_now(database, client_id) == in_force(client, auth, client_id)
    assert segment_now(database, client_id)[1] == 1  # type: ignore[index]
    assert spans_kept_true(database, client_id) == 3


def test_a_client_whose_every_decision_is_retracted_has_no_segment_now(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(8, segment=4, ago=3)
    only = segment_now(database, client_id)
    assert only is not None
    retraction = f"/v1/assessments/{only[0]}/retraction"
    assert client.post(retraction, json={"reason": "wrong client"}, headers=auth()).is_success
    assert segment_now(database, client_id) is None
    assert in_force(client, auth, client_id) is None


def test_a_decision_replaced_at_the_moment_it_took_effect_loses_its_span(
    assess: Assess, database: TestDatabase
) -> None:
    person = 8
    moment = iso(days_ago(45))
    client_id = assess(person, segment=2, ago=90)
    assess(person, segment=4, effective_at=moment)
    assert spans_kept_true(database, client_id) == 2
    assess(person, segment=1, effective_at=moment)  # the same moment: it replaces the other
    assert spans_kept_true(database, client_id) == 2
    assert segment_now(database, client_id)[1] == 1  # type: ignore[index]


def test_a_first_decision_is_in_force_with_its_span_from_the_same_write(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    """A client created by a submission gets its projections in the submission's own
    statement on PostgreSQL: every column as the timeline gives them, with or without a
    consent recorded with it, and what the response says of the consent."""
    for person, consent in ((31, None), (32, {"health_register": True})):
        body: dict[str, Any] = {
            "client": {"hetu": hetu("170480", individual=300 + person)},
            "model": "helsinki-2023",
            "answers": {"coping": "difficult", "risk_level": "few"},
            "effective_at": iso(days_ago(3)),
        }
        if consent:
            body["consent"] = consent
        created = client.post("/v1/assessments", json=body, headers=auth())
        assert created.status_code == 201, created.text
        client_id = created.json()["client_id"]
        now_kept_true(database, client_id)
        assert spans_kept_true(database, client_id) == 1
        assert segment_now(database, client_id) == (created.json()["assessment_id"], 2)
        shown = created.json()["consent"]
        assert shown["health_register"] is (True if consent else None), shown
        segment = client.get(f"/v1/clients/{client_id}/segment", headers=auth()).json()
        assert segment["consent"] == shown


@pytest.mark.parametrize("chunk", [50_000, 3], ids=["one chunk", "chunks of three"])
def test_an_import_projects_each_new_clients_whole_timeline(
    client: TestClient,
    auth: Auth,
    database: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    """A client an import creates gets its projections from the chunk's own lines (not read
    back from the timeline): lines out of effective-time order, a line twice, two people
    interleaved — and, in chunks of three, the same client new in one chunk and known in the
    next."""
    monkeypatch.setattr(import_service, "CHUNK", chunk)
    monkeypatch.setattr(import_service, "BATCH", 2)
    people = [hetu("030303", individual=700 + n) for n in range(2)]
    ages = [30, 90, 10, 60]
    lines = [
        {
            "client": {"hetu": person},
            "model": "helsinki-2023",
            "segment_code": 1 + (n + i) % 4,
            "effective_at": iso(days_ago(ago)),
            "recorded_by": "register",
        }
        for i, ago in enumerate(ages)
        for n, person in enumerate(people)
    ]
    lines.insert(3, lines[0])  # the same decision again: imported once
    imported = client.post(
        "/v1/imports/segments",
        content="".join(json.dumps(line) + "\n" for line in lines),
        headers={**auth(), "Content-Type": "application/x-ndjson"},
    )
    assert imported.json() == {"imported": 8, "lines": 9}, imported.text
    for n, person in enumerate(people):
        found = client.post("/v1/clients/lookup", json={"hetu": person}, headers=auth())
        client_id = found.json()["client_id"]
        now_kept_true(database, client_id)
        assert spans_kept_true(database, client_id) == 4
        assert segment_now(database, client_id)[1] == 1 + (n + 2) % 4  # type: ignore[index]
