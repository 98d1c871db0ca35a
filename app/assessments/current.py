"""Keeping `segment_now` — the segment in force per client — and `segment_span` — how long
each decision was in force — where the timeline stands.

Every write that changes a timeline (a submitted assessment, a retraction, an import) calls
`refresh` in its own transaction, for the clients it touched and under their row locks, so
the table can never disagree with `queries.in_force` for long enough to be read: readers see
both or neither. The rows are derived from the timeline by the same definition (no decision
takes effect in the future, so the latest active one is the one in force now);
tests/care/test_segment_now.py holds the two together on generated histories.
"""

import functools
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.assessments import queries
from app.assessments.models import Assessment, assessment, segment_now, segment_span
from app.db import Unit

# Later than any decision: no decision takes effect in the future.
_LATEST = datetime(9999, 12, 31, tzinfo=UTC)
_COLUMNS = [
    "client_id", "tenant", "assessment_id", "model_id", "model_version", "decided_code",
    "valid_from",
]  # fmt: skip


_SPAN_COLUMNS = [
    "assessment_id", "tenant", "client_id", "model_id", "model_version", "decided_code",
    "valid_from", "valid_to",
]  # fmt: skip


async def refresh(unit: Unit, tenant: str, clients: Any, replacing: Any = None) -> None:
    """Put the segment in force of `clients` (ids, or a select of ids) of `tenant` in
    `segment_now` (replaced, or removed when no active decision is left), and their timelines'
    spans in `segment_span` (replaced whole: a back-dated decision or a retraction moves the
    end of another's span). `replacing`: those of them that may have rows already (default:
    all) — an import's new clients have none, and looking for theirs read both tables whole
    once per chunk."""
    replacing = clients if replacing is None else replacing
    # By client alone: a client's row is its tenant's (`clients` are the tenant's own), and
    # with the tenant named as well PostgreSQL's planner, before the table had statistics,
    # read every row of the tenant through the population index instead of the key
    # (tests/test_query_plans.py).
    await unit.execute(sa.delete(segment_now).where(segment_now.c.client_id.in_(replacing)))
    latest = _each(unit, clients, functools.partial(queries.in_force, _LATEST), tenant)
    await unit.execute(
        sa.insert(segment_now).from_select(
            _COLUMNS,
            sa.select(
                latest.c.client_id,
                latest.c.tenant,
                latest.c.id,
                latest.c.model_id,
                latest.c.model_version,
                latest.c.decided_code,
                latest.c.effective_at,
            ),
        )
    )
    await unit.execute(
        sa.delete(segment_span).where(
            segment_span.c.tenant == tenant, segment_span.c.client_id.in_(replacing)
        )
    )
    spans = _each(unit, clients, queries.spans, tenant)
    await unit.execute(sa.insert(segment_span).from_select(_SPAN_COLUMNS, sa.select(spans)))


def _each(unit: Unit, clients: Any, derive: Any, tenant: str) -> Any:
    """`derive(*criteria)` for the timelines of `clients`. On PostgreSQL a select of clients
    (an import's chunk: thousands) is joined LATERAL, one client's index range at a time:
    as one set the planner joined the chunk against every decision of the tenant, a chunk's
    time growing with all imported before it."""
    if unit.dialect != "postgresql" or not isinstance(clients, sa.Select):
        return derive(assessment.c.tenant == tenant, assessment.c.client_id.in_(clients)).subquery(
            "derived"
        )
    listed = clients.subquery("listed")
    one = derive(
        assessment.c.tenant == tenant,
        assessment.c.client_id == next(iter(listed.c)),
        correlate=listed,
    ).lateral("derived")
    return sa.select(one).select_from(listed.join(one, sa.true())).subquery("each")


@functools.cache
def _took_effect_statement(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(segment_now).values(
        {name: sa.bindparam(name, type_=segment_now.c[name].type) for name in _COLUMNS}
    )
    return statement.on_conflict_do_update(
        index_elements=["client_id"],
        set_={name: statement.excluded[name] for name in _COLUMNS if name != "client_id"},
        # The new decision has the highest sequence of its client: it is in force unless the
        # one in force took effect later (a back-dated decision goes into the history).
        where=segment_now.c.valid_from <= statement.excluded.valid_from,
    )


@functools.cache
def _spans_of_one() -> tuple[Any, Any]:
    """Deleting and re-deriving the spans of the client `:client_id` of `:tenant`, built once
    (building the windowed select per write was a third of a write's CPU)."""
    tenant: Any = sa.bindparam("tenant")
    client_id: Any = sa.bindparam("client_id")
    delete = sa.delete(segment_span).where(
        segment_span.c.tenant == tenant, segment_span.c.client_id == client_id
    )
    spans = queries.spans(assessment.c.tenant == tenant, assessment.c.client_id == client_id)
    return delete, sa.insert(segment_span).from_select(_SPAN_COLUMNS, spans)


@functools.cache
def _took_effect_in_one(reading: sa.Select[Any] | None = None) -> Any:
    """PostgreSQL: `took_effect` in one statement. The client's spans are upserted, and the
    spans no longer in its timeline deleted, by the same statement (a DELETE and an INSERT of
    the same key in one statement would collide; these touch different rows), with the
    segment in force upserted beside them — and, given `reading`, the statement is that
    select with all of this as its CTEs (it sees what the transaction wrote before, and
    everything committed before it began: after the caller's lock)."""
    tenant: Any = sa.bindparam("tenant")
    client_id: Any = sa.bindparam("client_id")
    spans = queries.spans(assessment.c.tenant == tenant, assessment.c.client_id == client_id).cte(
        "spans"
    )
    gone = (
        sa.delete(segment_span)
        .where(
            segment_span.c.tenant == tenant,
            segment_span.c.client_id == client_id,
            segment_span.c.assessment_id.not_in(sa.select(spans.c.assessment_id)),
        )
        .cte("gone")
    )
    moved = _took_effect_statement("postgresql").cte("moved")
    upsert = postgresql.insert(segment_span).from_select(
        _SPAN_COLUMNS, sa.select(*(spans.c[name] for name in _SPAN_COLUMNS))
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=["assessment_id"],
        set_={name: upsert.excluded[name] for name in _SPAN_COLUMNS if name != "assessment_id"},
    )
    if reading is None:
        return upsert.add_cte(gone, moved)
    upserted = upsert.returning(segment_span.c.assessment_id).cte("upserted")
    return reading.add_cte(gone, moved, upserted)


async def took_effect(
    unit: Unit, row: Assessment, *, reading: sa.Select[Any] | None = None
) -> list[dict[str, Any]] | None:
    """A new, active decision of a client whose row the caller holds locked: the segment in
    force moved with one upsert, and the client's spans cut again (a back-dated decision
    ends another's span early) — with statements built once, not per write, and on
    PostgreSQL as one statement (two round trips fewer per write).

    On PostgreSQL a `reading` (a select built once, taking `client_id`) is run by the same
    statement and its rows returned — a write's response read in its last round trip;
    elsewhere None is returned and the caller reads as ever."""
    parameters = {
        "client_id": row.client_id,
        "tenant": row.tenant,
        "assessment_id": row.id,
        "model_id": row.model_id,
        "model_version": row.model_version,
        "decided_code": row.decided_code,
        "valid_from": row.effective_at,
    }
    if unit.dialect == "postgresql":
        return await unit.fetch(_took_effect_in_one(reading), parameters)
    delete, insert = _spans_of_one()
    client = {"tenant": row.tenant, "client_id": row.client_id}
    await unit.fetch(delete, client)
    await unit.fetch(insert, client)
    await unit.fetch(_took_effect_statement(unit.dialect), parameters)
    return None
