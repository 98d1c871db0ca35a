"""On PostgreSQL, no statement the service runs for a client reads an index range wider than
its conditions bound: every index scan's conditions are on a prefix of the index's columns.

A condition on a later column only (`client_id` on an index that leads with `tenant`) does not
narrow the range read: PostgreSQL 15 walks the whole of it, checking each entry. Such plans
look harmless on a small table and cost a read of the tenant's every row per request on a big
one — the span delete of every write read all of the tenant's spans this way, a quarter of
PostgreSQL's time per write in bench/throughput.py.

The plans are PostgreSQL's generic ones (what a prepared statement settles on), on the tables
as the test finds them: few rows and no statistics yet, where a fragile choice shows; with
sequential scans priced out, so that a table small enough to scan still shows which index a
bigger one would be read through. Statements that read a tenant whole (exports, worklists,
population figures) are not this test's: a range bounded by the tenant is what they ask for.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import Auth, TestDatabase
from tests.helpers import helsinki_assessment, hetu

STATEMENTS = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")
INDEX_COLUMNS = """
SELECT i.relname, array_agg(a.attname ORDER BY k.position)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = i.relnamespace AND n.nspname = current_schema()
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, position)
JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
GROUP BY i.relname
"""


@pytest.fixture
def statements(database: TestDatabase, backend: str) -> Iterator[list[str]]:
    """Every SQL text sent through SQLAlchemy while the test runs (the statements sent
    straight to asyncpg are in the database's compiled cache)."""
    if backend != "postgresql":
        pytest.skip("the plans are PostgreSQL's")
    seen: list[str] = []

    def note(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(database.engine.sync_engine, "before_cursor_execute", note)


def _index_scans(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "Index Name" in plan:
        yield plan["Index Name"], plan.get("Index Cond", "")
    for child in plan.get("Plans", []):
        yield from _index_scans(child)


def unbounded_scans(index_columns: dict[str, list[str]], plan: dict[str, Any]) -> list[str]:
    """The index scans of `plan` that read more than their conditions ask for: none on the
    index's first column (the whole index is read), or a range bounded by the tenant alone
    while a later column is named too (the tenant's every entry is read and checked)."""
    found = []
    for index, condition in _index_scans(plan):
        columns = index_columns.get(index)
        if columns is None:
            continue  # the system catalogue's
        named = {
            column
            for column in columns
            if re.search(rf"(?<![.\w]){re.escape(column)}\b", condition)
        }
        bounding = []
        for column in columns:
            if column not in named:
                break
            bounding.append(column)
        if not bounding or (bounding == ["tenant"] and len(named) > 1):
            found.append(f"{index} {columns} read by ({condition or 'no condition'})")
    return found


async def _generic_plan(raw: Any, sql: str) -> dict[str, Any]:
    prepared = await raw.prepare(sql)
    types = [
        await raw.fetchval("SELECT format_type($1, NULL)", parameter.oid)
        for parameter in prepared.get_parameters()
    ]
    typed = f"({', '.join(types)})" if types else ""
    await raw.execute(f"PREPARE plan_check{typed} AS {sql}")
    try:
        nulls = f"({', '.join('NULL' for _ in types)})" if types else ""
        explained = await raw.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE plan_check{nulls}")
    finally:
        await raw.execute("DEALLOCATE plan_check")
    if isinstance(explained, str):  # a connection without a JSON codec
        explained = json.loads(explained)
    plan: dict[str, Any] = explained[0]["Plan"]
    return plan


def sent(database: TestDatabase, through_sqlalchemy: list[str], since: int = 0) -> list[str]:
    """The SQL texts sent: through SQLAlchemy, and straight to asyncpg (the database's cache
    of statements compiled once, in the order first sent: from the `since`-th on)."""
    direct = [compiled.sql for compiled in list(database._compiled.values())[since:]]
    return direct + through_sqlalchemy


def check_plans(database: TestDatabase, sent: list[str]) -> list[str]:
    texts = list(dict.fromkeys(sent))

    async def run() -> list[str]:
        raw = (await database.connection.get_raw_connection()).driver_connection
        columns = {name: list(names) for name, names in await raw.fetch(INDEX_COLUMNS)}
        await raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await raw.execute("SET LOCAL enable_seqscan = off")
        problems = []
        for sql in texts:
            if not sql.lstrip().upper().startswith(STATEMENTS):
                continue  # SAVEPOINT and the like
            for found in unbounded_scans(columns, await _generic_plan(raw, sql)):
                problems.append(f"{found}\n    in: {' '.join(sql.split())[:300]}")
        return problems

    problems: list[str] = database.portal.call(run)
    assert len(texts) > 20, "the scenario ran too few statements to say anything"
    return problems


def test_a_clients_requests_read_only_that_clients_index_ranges(
    client: TestClient, auth: Auth, database: TestDatabase, statements: list[str]
) -> None:
    first = helsinki_assessment(
        client={"hetu": hetu("150380", individual=412)},
        consent={"health_register": True},
        effective_at="2026-02-01T10:00:00+02:00",
    )
    created = client.post("/v1/assessments", json=first, headers=auth())
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    again = helsinki_assessment(
        "difficult", "many", client={"hetu": hetu("150380", individual=412)}
    )
    assert client.post("/v1/assessments", json=again, headers=auth()).status_code == 201
    fresh = helsinki_assessment(client={"hetu": hetu("160380", individual=414)})
    assert client.post("/v1/assessments", json=fresh, headers=auth()).status_code == 201
    base = f"/v1/clients/{client_id}"
    withdrawn = {"register": "health", "given": False, "at": "2026-04-01T09:00:00+03:00"}
    assert client.post(f"{base}/consents", json=withdrawn, headers=auth()).status_code == 201
    contact = {
        "professional": "nurse@helsinki.example",
        "role": "named_contact",
        "title": "hoitovastaava",
        "from": "2026-03-01T10:00:00+02:00",
    }
    added = client.post(f"{base}/care-team", json=contact, headers=auth())
    assert added.status_code == 201, added.text
    plan = {
        "kind": "client_plan",
        "made_at": "2026-03-01T10:00:00+02:00",
        "review_by": "2027-03-01",
    }
    made = client.post(f"{base}/plans", json=plan, headers=auth())
    assert made.status_code == 201, made.text
    for path in ("segment", "segment-history", "consents", "care-team", "plans", "access-log"):
        assert client.get(f"{base}/{path}", headers=auth()).status_code == 200, path
    retracted = client.post(
        f"/v1/assessments/{created.json()['assessment_id']}/retraction",
        json={"reason": "entered for the wrong person"},
        headers=auth(),
    )
    assert retracted.status_code in (200, 201), retracted.text
    lookup = client.post(
        "/v1/clients/lookup", json={"hetu": hetu("150380", individual=412)}, headers=auth()
    )
    assert lookup.status_code == 200, lookup.text
    for_the_client = sent(database, statements)
    pulled = client.get("/v1/exports/segments", params={"format": "csv"}, headers=auth())
    assert pulled.status_code == 200, pulled.text
    # An export reads the tenant whole; finding the exports that disclosed the client does not.
    compiled, statements[:] = len(database._compiled), []
    assert client.get(f"{base}/access-log", headers=auth()).status_code == 200
    for_the_client += sent(database, statements, since=compiled)

    problems = check_plans(database, for_the_client)
    assert not problems, "\n".join(problems)


def test_the_checker_finds_a_range_bounded_by_the_tenant_alone() -> None:
    """What the test above would report: a client's events looked up without the tenant that
    their index leads with, and a client's spans looked up through the population index."""
    columns = {
        "ix_consent_event_tenant_client_at": ["tenant", "client_id", "at"],
        "ix_segment_span_tenant_model_from": ["tenant", "model_id", "valid_from", "client_id"],
        "ix_segment_span_tenant_client": ["tenant", "client_id"],
    }
    events = {"Index Name": "ix_consent_event_tenant_client_at", "Index Cond": "(client_id = $2)"}
    spans = {
        "Index Name": "ix_segment_span_tenant_model_from",
        "Index Cond": "(((tenant)::text = ($1)::text) AND (client_id = $2))",
    }
    bounded = {
        "Index Name": "ix_segment_span_tenant_client",
        "Index Cond": "(((tenant)::text = ($1)::text) AND (client_id = $2))",
    }
    plan = {"Node Type": "Append", "Plans": [events, {"Plans": [spans, bounded]}]}
    assert [found.split(" ")[0] for found in unbounded_scans(columns, plan)] == [
        "ix_consent_event_tenant_client_at",
        "ix_segment_span_tenant_model_from",
    ]
