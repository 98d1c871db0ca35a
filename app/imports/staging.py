"""The import's SQL: a staging table, then every write set-based, in the import's transaction.

Checked lines go to a temporary table (PostgreSQL: `COPY`, SQLite: batched inserts) a chunk
at a time, and each chunk is written with a handful of statements while the next is being
read and checked: the decisions not imported before (each client's sequence numbers handed
out at once, which locks the client's row like any other writer), the clients they bring
that are new, their consent events. When the whole file is in, one access-log line per
client. A decision already imported — same client, time, model, segment and recorder — is
left as it is, so importing the same lines again changes nothing; a line repeated in the same
chunk is left out as it is read (service.py), and in a later chunk finds the earlier one, as
the transaction sees its own writes.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.assessments import current
from app.assessments.models import assessment, retraction, segment_now, segment_span
from app.audit.models import access_log
from app.auth import Principal
from app.clients.identity import IdentityProtector
from app.clients.models import client
from app.clients.service import KeysRotated
from app.consents.models import consent_event
from app.db import JSONDocument, Unit, UTCDateTime
from app.errors import Conflict, FieldError, InvalidInput
from app.imports.lines import COLUMNS, Staged, as_record, as_row
from app.keyring import service as keyring

# A temporary table's statistics are never gathered by autovacuum; these are gathered by hand
# once a chunk is in, so that the planner sees tens of thousands of rows, not a guess.
_temporary = sa.MetaData()


def _table(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A temporary table of this import's transaction, dropped at its end."""
    return sa.Table(name, _temporary, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def _decision() -> list[sa.Column[Any]]:
    """What a line says of its decision and consent, in both staging tables."""
    return [
        sa.Column("model_id", sa.String(64)),
        sa.Column("model_version", sa.String(32)),
        sa.Column("decided_code", sa.Integer),
        sa.Column("effective_at", UTCDateTime),
        sa.Column("recorded_by", sa.String(255)),
        sa.Column("consent_given", sa.Boolean),
        sa.Column("consent_at", UTCDateTime),
        sa.Column("consent_id", sa.Uuid),
    ]


line = _table(
    "import_line",
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("assessment_id", sa.Uuid),
    sa.Column("new_client_id", sa.Uuid),
    sa.Column("log_id", sa.Uuid),
    sa.Column("identity_kind", sa.String(16)),
    sa.Column("index_a", sa.String(64)),
    sa.Column("index_b", sa.String(64)),
    sa.Column("hetu_encrypted", sa.String(255)),
    sa.Column("external_system", sa.String(255)),
    sa.Column("external_value", sa.String(255)),
    sa.Column("birth_date", sa.Date),
    *_decision(),
)
new = _table(
    "import_new",
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("assessment_id", sa.Uuid),
    sa.Column("client_id", sa.Uuid),
    sa.Column("is_new", sa.Boolean),
    sa.Column("log_id", sa.Uuid),
    *_decision(),
    sa.Column("rank", sa.Integer),
)
counts = _table(
    "import_count",
    sa.Column("client_id", sa.Uuid, primary_key=True),
    sa.Column("is_new", sa.Boolean),
    sa.Column("n", sa.Integer),
    # The client's last sequence number before this chunk's (a new client: 0).
    sa.Column("base", sa.Integer),
)
# The chunk's known clients, by the index their lines brought (`_find_known`).
known = _table(
    "import_known",
    sa.Column("index", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.Uuid),
)
# Every client the import wrote for, across chunks: one access-log line each at the end.
touched = _table(
    "import_client",
    sa.Column("client_id", sa.Uuid, primary_key=True),
    sa.Column("log_id", sa.Uuid),
)
PER_CHUNK = (line, new, counts, known)
_ANALYZED = ("line", "index_a", "new_client_id")
assert tuple(c.name for c in line.columns) == COLUMNS


async def create(unit: Unit) -> None:
    if unit.dialect == "postgresql":
        # Sorts and hashes of a chunk stay in memory (the server's, for this transaction).
        await unit.execute(sa.text("SET LOCAL work_mem = '64MB'"))
        # Statements over a staged chunk look costly enough to the planner for JIT, whose
        # compiling took longer than the statements it sped up (5-30 ms each, per chunk).
        await unit.execute(sa.text("SET LOCAL jit = off"))
    for table in (*PER_CHUNK, touched):
        await unit.execute(sa.text(f"DROP TABLE IF EXISTS {table.name}"))
        await unit.execute(sa.schema.CreateTable(table))
        for index in table.indexes:
            await unit.execute(sa.schema.CreateIndex(index))
    if unit.dialect == "postgresql":
        for column in _ANALYZED:
            # A sample of 3,000 lines, not 30,000: the planner wants the chunk's size and
            # roughly how many clients it holds, and the full sample was a twentieth of a
            # chunk's database time.
            await unit.execute(
                sa.text(f"ALTER TABLE {line.name} ALTER COLUMN {column} SET STATISTICS 10")
            )


async def add(unit: Unit, batch: Sequence[Staged]) -> None:
    if unit.dialect == "postgresql":
        raw: Any = (await (await unit.connection()).get_raw_connection()).driver_connection
        await raw.copy_records_to_table(
            line.name, records=[as_record(s) for s in batch], columns=list(COLUMNS)
        )
    else:
        await unit.execute(sa.insert(line), [as_row(s) for s in batch])


async def _analyze(unit: Unit, *tables: sa.Table) -> None:
    if unit.dialect == "postgresql":
        await unit.execute(sa.text(f"ANALYZE {', '.join(t.name for t in tables)}"))


async def _analyze_staged(unit: Unit) -> None:
    """The staged chunk's size and the spread of the columns it is joined on."""
    if unit.dialect == "postgresql":
        await unit.execute(sa.text(f"ANALYZE {line.name} ({', '.join(_ANALYZED)})"))


async def _resolve(unit: Unit, previous_index: bool) -> None:
    """Fill `import_new` with the chunk's lines not imported before, each with its client: a
    known one, or the id its lines bring for a new one. `previous_index`: some lines carry
    an index under a previous key too (a key rotation is under way)."""
    by_a, by_b = known.alias("by_a"), known.alias("by_b")
    joined = line.outerjoin(by_a, by_a.c.index == line.c.index_a)
    ids: list[sa.ColumnElement[Any]] = [by_a.c.client_id]
    if previous_index:
        joined = joined.outerjoin(by_b, by_b.c.index == line.c.index_b)
        ids.append(by_b.c.client_id)
    resolved = (
        sa.select(
            line,
            sa.func.coalesce(*ids, line.c.new_client_id).label("client_id"),
            sa.and_(*(id_.is_(None) for id_ in ids)).label("is_new"),
        )
        .select_from(joined)
        .subquery("resolved")
    )
    imported_before = sa.exists().where(
        assessment.c.source == "import",
        assessment.c.client_id == resolved.c.client_id,
        assessment.c.effective_at == resolved.c.effective_at,
        assessment.c.model_id == resolved.c.model_id,
        assessment.c.model_version == resolved.c.model_version,
        assessment.c.decided_code == resolved.c.decided_code,
        assessment.c.recorded_by == resolved.c.recorded_by,
    )
    rank = sa.func.row_number().over(
        partition_by=resolved.c.client_id, order_by=(resolved.c.effective_at, resolved.c.line)
    )
    columns = [c.name for c in new.columns if c.name != "rank"]
    await unit.execute(
        sa.insert(new).from_select(
            [*columns, "rank"],
            # Only a known client can have decisions imported before. (A line saying again
            # what one of the same chunk said was left out as it was read: service.py.)
            sa.select(*(resolved.c[name] for name in columns), rank).where(
                sa.or_(resolved.c.is_new, ~imported_before)
            ),
        )
    )


async def _new_clients(
    unit: Unit, principal: Principal, protector: IdentityProtector, now: datetime
) -> None:
    """Register the chunk's new clients, each with the sequence numbers its decisions take."""
    expected = (
        await unit.execute(sa.select(sa.func.count()).where(counts.c.is_new.is_(True)))
    ).scalar_one()
    if not expected:
        return
    rows = (
        sa.select(
            line.c.new_client_id,
            sa.literal(principal.org),
            line.c.identity_kind,
            line.c.index_a,
            line.c.hetu_encrypted,
            line.c.external_system,
            line.c.external_value,
            sa.literal(now, UTCDateTime),
            sa.literal(principal.sub),
            line.c.birth_date,
            counts.c.n,
        )
        .join(counts, counts.c.client_id == line.c.new_client_id)
        .where(
            line.c.line.in_(sa.select(sa.func.min(line.c.line)).group_by(line.c.new_client_id)),
            counts.c.is_new.is_(True),
            keyring.written_with_current_keys(protector),
        )
    )
    names = [
        "id", "tenant", "identity_kind", "identity_index", "hetu_encrypted", "external_system",
        "external_value", "created_at", "created_by", "birth_date", "last_sequence",
    ]  # fmt: skip
    insert: Any = (
        postgresql.insert(client) if unit.dialect == "postgresql" else sqlite.insert(client)
    )
    inserted = await unit.execute(
        insert.from_select(names, rows).on_conflict_do_nothing(
            index_elements=["tenant", "identity_index"]
        )
    )
    if inserted.rowcount == expected:
        return
    if not await keyring.holds_current(unit, protector):
        raise KeysRotated()
    raise Conflict(
        "Some of these clients were registered by another request while the import ran. "
        "Nothing was imported; send the file again (lines imported before are skipped)."
    )


# How many clashing lines an import names before it stops looking for more.
CLASHES_NAMED = 100
_CLASH = (
    "the client has another decision taking effect at this same moment (in this import, or "
    "recorded before): one decision per moment — retract the other one first"
)


async def _refuse_clashes(unit: Unit, tenant: str) -> None:
    """Two different decisions of one client taking effect at the same moment would both be
    active, and which is in force would hang on the order they were written. A register file
    corrected and imported again would add conflicting history instead of replacing it: every
    such line is refused, naming it (identical lines are already left out as imported)."""
    ranked = sa.select(
        new.c.line,
        sa.func.row_number()
        .over(partition_by=(new.c.client_id, new.c.effective_at), order_by=new.c.line)
        .label("nth"),
    ).subquery()
    within = sa.select(ranked.c.line).where(ranked.c.nth > 1)
    recorded = sa.select(new.c.line).where(
        new.c.is_new.is_(False),  # a new client has nothing recorded
        sa.exists().where(
            assessment.c.tenant == tenant,
            assessment.c.client_id == new.c.client_id,
            assessment.c.effective_at == new.c.effective_at,
            ~sa.exists().where(retraction.c.assessment_id == assessment.c.id),
        ),
    )
    lines = (
        (await unit.execute(sa.union(within, recorded).order_by("line").limit(CLASHES_NAMED)))
        .scalars()
        .all()
    )
    if lines:
        raise InvalidInput(
            [FieldError(f"lines[{line}].effective_at", _CLASH) for line in lines],
            detail=f"Nothing was imported: {len(lines)} line(s) clash with another decision "
            "of the same client at the same moment.",
        )


async def _find_known(unit: Unit, principal: Principal, previous_index: bool) -> None:
    """Fill `import_known` with the chunk's clients already registered, then — on PostgreSQL
    — lock them before anything is read of their timelines, as every writer of a timeline
    does. A concurrent import or submission of one of them has committed by the time the
    lock is had, and what follows sees what it wrote: its lines as imported before
    (identical files sent twice at once import once), its decisions as clashes. Locked in
    the order of their ids, as the key rotation and the birth-date jobs lock theirs, so that
    they wait on each other rather than deadlock (two imports that meet clients in opposite
    orders across chunks still can, and the database fails one of them: 409, send again).
    Found first and locked by id after: a client the rotation re-indexes while the lock is
    awaited is still the client its lines name.

    Each index the chunk brings, and each id, is looked up on its own (LATERAL): joined as a
    set, the planner — its statistics of `client` from before the import — hashed every
    client of the tenant once per chunk, a chunk's time growing with all imported before."""
    indexes: Any = sa.select(line.c.index_a.label("index"))
    if previous_index:
        indexes = sa.union(indexes, sa.select(line.c.index_b).where(line.c.index_b.is_not(None)))
    else:
        indexes = indexes.distinct()
    listed = indexes.subquery("listed")
    if unit.dialect != "postgresql":  # one writer at a time: nothing to lock
        found = sa.select(listed.c.index, client.c.id).join(
            client,
            sa.and_(client.c.tenant == principal.org, client.c.identity_index == listed.c.index),
        )
        await unit.execute(sa.insert(known).from_select(["index", "client_id"], found))
        return
    one = (
        sa.select(client.c.id)
        .where(client.c.tenant == principal.org, client.c.identity_index == listed.c.index)
        .lateral("one")
    )
    found = sa.select(listed.c.index, one.c.id).select_from(listed.join(one, sa.true()))
    await unit.execute(sa.insert(known).from_select(["index", "client_id"], found))
    ids = sa.select(known.c.client_id).distinct().order_by(known.c.client_id).subquery("ids")
    locked = (
        sa.select(client.c.id)
        .where(client.c.id == ids.c.client_id)
        .with_for_update()
        .lateral("locked")
    )
    await unit.execute(sa.select(locked.c.id).select_from(ids.join(locked, sa.true())))


async def _project_new_clients(unit: Unit, tenant: str) -> None:
    """The projections of the chunk's new clients, from the chunk's own lines: every decision
    of such a client is one of them (it was created by this chunk), active, numbered in
    effective-time order (`rank`, as its sequence) — the timeline `current.refresh` would read
    back from `assessment` one client at a time, a third of a chunk's database time. The
    latest is in force; each is in force until the next took effect (no two take effect at
    the same moment: `_refuse_clashes`). tests/imports hold these to the timeline."""

    def decisions(*extra: Any) -> Any:
        return (
            sa.select(
                new.c.client_id,
                sa.literal(tenant),
                new.c.assessment_id,
                new.c.model_id,
                new.c.model_version,
                new.c.decided_code,
                new.c.effective_at,
                *extra,
            )
            .join(counts, counts.c.client_id == new.c.client_id)
            .where(new.c.is_new.is_(True))
        )

    projected = [
        "client_id", "tenant", "assessment_id", "model_id", "model_version", "decided_code",
        "valid_from",
    ]  # fmt: skip
    latest = decisions().where(new.c.rank == counts.c.n)
    await unit.execute(sa.insert(segment_now).from_select(projected, latest))
    following = sa.func.lead(new.c.effective_at, type_=UTCDateTime).over(
        partition_by=new.c.client_id, order_by=new.c.rank
    )
    spans = decisions(following.label("valid_to")).subquery("spans")
    await unit.execute(
        sa.insert(segment_span).from_select(
            [*projected, "valid_to"],
            sa.select(spans).where(
                sa.or_(spans.c.valid_to.is_(None), spans.c.valid_to > spans.c.effective_at)
            ),
        )
    )


async def _number_known(unit: Unit) -> None:
    """Hand the chunk's known clients their next sequence numbers (their rows are locked),
    and note in `import_count` where each one's numbers begin. By each client's key: a join
    with `client` as a set was planned, on the statistics from before the import, as a
    scan of every client once per chunk."""
    of_known = sa.select(counts.c.client_id).where(counts.c.is_new.is_(False))
    listed: Any = (
        client.c.id == sa.func.any(sa.func.array(of_known.scalar_subquery()))
        if unit.dialect == "postgresql"
        else client.c.id.in_(of_known)
    )
    n = sa.select(counts.c.n).where(counts.c.client_id == client.c.id).scalar_subquery()
    await unit.execute(
        sa.update(client).values(last_sequence=client.c.last_sequence + n).where(listed)
    )
    last = sa.select(client.c.last_sequence).where(client.c.id == counts.c.client_id)
    await unit.execute(
        sa.update(counts)
        .values(base=last.scalar_subquery() - counts.c.n)
        .where(counts.c.is_new.is_(False))
    )


async def apply_chunk(
    unit: Unit, *, principal: Principal, protector: IdentityProtector, now: datetime
) -> int:
    """Write the staged chunk, then empty the staging tables; the decisions written."""
    await _analyze_staged(unit)
    await _find_known(unit, principal, protector.holds_previous_index_key)
    await _resolve(unit, protector.holds_previous_index_key)
    await _refuse_clashes(unit, principal.org)
    await unit.execute(
        sa.insert(counts).from_select(
            ["client_id", "is_new", "n", "base"],
            sa.select(new.c.client_id, new.c.is_new, sa.func.count(), sa.literal(0)).group_by(
                new.c.client_id, new.c.is_new
            ),
        )
    )
    await _new_clients(unit, principal, protector, now)
    await _number_known(unit)
    stamp = await unit.change_stamp()
    stamped = sa.literal(stamp) if isinstance(stamp, int) else stamp
    empty = sa.literal({}, JSONDocument)
    decisions = sa.select(
        new.c.assessment_id,
        sa.literal(principal.org),
        new.c.client_id,
        counts.c.base + new.c.rank,
        new.c.model_id,
        new.c.model_version,
        empty,
        empty,
        new.c.decided_code,
        empty,
        empty,
        new.c.effective_at,
        sa.literal(now, UTCDateTime),
        new.c.recorded_by,
        sa.literal("import"),
        stamped,
    ).join(counts, counts.c.client_id == new.c.client_id)
    names = [
        "id", "tenant", "client_id", "sequence", "model_id", "model_version", "answers", "details",
        "decided_code", "explanation", "warnings", "effective_at", "recorded_at", "recorded_by",
        "source", "change_tx",
    ]  # fmt: skip
    written = await unit.execute(sa.insert(assessment).from_select(names, decisions))
    consents = sa.select(
        new.c.consent_id,
        sa.literal(principal.org),
        new.c.client_id,
        sa.literal("health"),
        new.c.consent_given,
        new.c.consent_at,
        sa.literal(now, UTCDateTime),
        new.c.recorded_by,
        sa.literal("import"),
        new.c.assessment_id,
        stamped,
    ).where(new.c.consent_given.is_not(None))
    names = [
        "id", "tenant", "client_id", "register_name", "given", "at", "recorded_at",
        "recorded_by", "source", "assessment_id", "change_tx",
    ]  # fmt: skip
    await unit.execute(sa.insert(consent_event).from_select(names, consents))
    known = sa.select(counts.c.client_id).where(counts.c.is_new.is_(False))
    await current.refresh(unit, principal.org, known)
    await _project_new_clients(unit, principal.org)
    first_per_client = sa.select(sa.func.min(new.c.line)).group_by(new.c.client_id)
    not_yet = ~sa.exists().where(touched.c.client_id == new.c.client_id)
    await unit.execute(
        sa.insert(touched).from_select(
            ["client_id", "log_id"],
            sa.select(new.c.client_id, new.c.log_id).where(
                new.c.line.in_(first_per_client), not_yet
            ),
        )
    )
    for table in PER_CHUNK:
        await unit.execute(
            sa.text(f"TRUNCATE {table.name}") if unit.dialect == "postgresql" else sa.delete(table)
        )
    return int(written.rowcount)


async def finish(unit: Unit, *, principal: Principal, now: datetime, written: int) -> None:
    """One access-log line for each client the import wrote for; fresh planner statistics
    after a large import (autovacuum would gather them only a while later, and the first
    export usually follows at once)."""
    logged = sa.select(
        touched.c.log_id,
        sa.literal(principal.org),
        sa.literal(now, UTCDateTime),
        sa.literal(principal.sub),
        touched.c.client_id,
        sa.literal(principal.operation),
        sa.literal(principal.purpose, sa.String(200)),
        sa.literal("ok"),
    )
    await unit.execute(
        sa.insert(access_log).from_select(
            ["id", "tenant", "at", "actor", "client_id", "operation", "purpose", "outcome"], logged
        )
    )
    if written >= LARGE:
        await _analyze(unit, client, assessment, consent_event)


LARGE = 10_000
