"""The import's SQL: a staging table, then every write set-based, in the import's transaction.

Checked lines go to a temporary table (PostgreSQL: `COPY`, SQLite: batched inserts). When the
whole file has been read and every line is good, a handful of statements write it: the new
clients, the decisions not imported before (each client's sequence numbers handed out at once,
which locks the client's row like any other writer), their consent events and one access-log
line per client. A decision already imported — same client, time, model, segment and
recorder — is left as it is, so importing the same lines again changes nothing.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.assessments.models import assessment
from app.audit.models import access_log
from app.auth import Principal
from app.clients.identity import IdentityProtector
from app.clients.models import client
from app.consents.models import consent_event
from app.db import JSONDocument, Unit, UTCDateTime
from app.imports.lines import COLUMNS, Staged, as_record, as_row
from app.keyring import service as keyring

_temporary = sa.MetaData()
line = sa.Table(
    "import_line",
    _temporary,
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
    sa.Column("model_id", sa.String(64)),
    sa.Column("model_version", sa.String(32)),
    sa.Column("decided_code", sa.Integer),
    sa.Column("effective_at", UTCDateTime),
    sa.Column("recorded_by", sa.String(255)),
    sa.Column("consent_given", sa.Boolean),
    sa.Column("consent_at", UTCDateTime),
    sa.Column("consent_id", sa.Uuid),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
new = sa.Table(
    "import_new",
    _temporary,
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("assessment_id", sa.Uuid),
    sa.Column("client_id", sa.Uuid, index=True),
    sa.Column("log_id", sa.Uuid),
    sa.Column("model_id", sa.String(64)),
    sa.Column("model_version", sa.String(32)),
    sa.Column("decided_code", sa.Integer),
    sa.Column("effective_at", UTCDateTime),
    sa.Column("recorded_by", sa.String(255)),
    sa.Column("consent_given", sa.Boolean),
    sa.Column("consent_at", UTCDateTime),
    sa.Column("consent_id", sa.Uuid),
    sa.Column("rank", sa.Integer),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
counts = sa.Table(
    "import_count",
    _temporary,
    sa.Column("client_id", sa.Uuid, primary_key=True),
    sa.Column("n", sa.Integer),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
assert tuple(c.name for c in line.columns) == COLUMNS


async def create(unit: Unit) -> None:
    for table in (line, new, counts):
        await unit.execute(sa.text(f"DROP TABLE IF EXISTS {table.name}"))
        await unit.execute(sa.schema.CreateTable(table))
        for index in table.indexes:
            await unit.execute(sa.schema.CreateIndex(index))


async def add(unit: Unit, batch: Sequence[Staged]) -> None:
    if unit.dialect == "postgresql":
        raw: Any = (await (await unit.connection()).get_raw_connection()).driver_connection
        await raw.copy_records_to_table(
            line.name, records=[as_record(s) for s in batch], columns=list(COLUMNS)
        )
    else:
        await unit.execute(sa.insert(line), [as_row(s) for s in batch])


def _insert(unit: Unit) -> Any:
    return postgresql.insert if unit.dialect == "postgresql" else sqlite.insert


async def _new_clients(
    unit: Unit, principal: Principal, protector: IdentityProtector, now: datetime
) -> None:
    first_line = sa.select(sa.func.min(line.c.line)).group_by(line.c.index_a)
    known = sa.exists().where(
        client.c.tenant == principal.org,
        client.c.identity_index.in_([line.c.index_a, sa.func.coalesce(line.c.index_b, "")]),
    )
    rows = sa.select(
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
        sa.literal(0),
    ).where(line.c.line.in_(first_line), ~known, keyring.written_with_current_keys(protector))
    names = [
        "id", "tenant", "identity_kind", "identity_index", "hetu_encrypted", "external_system",
        "external_value", "created_at", "created_by", "birth_date", "last_sequence",
    ]  # fmt: skip
    await unit.execute(
        _insert(unit)(client)
        .from_select(names, rows)
        .on_conflict_do_nothing(index_elements=["tenant", "identity_index"])
    )


def _client_by(found: sa.Alias, tenant: str, index: sa.Column[Any]) -> sa.ColumnElement[bool]:
    return sa.and_(found.c.tenant == tenant, found.c.identity_index == index)


async def _resolve(unit: Unit, principal: Principal) -> int:
    """Fill `import_new` with the lines not imported before, each with its client; returns
    how many lines found no client (their keys were rotated away meanwhile)."""
    by_a, by_b = client.alias("by_a"), client.alias("by_b")
    resolved = (
        sa.select(line, sa.func.coalesce(by_a.c.id, by_b.c.id).label("client_id"))
        .select_from(
            line.outerjoin(
                by_a,
                sa.and_(by_a.c.tenant == principal.org, by_a.c.identity_index == line.c.index_a),
            ).outerjoin(
                by_b,
                sa.and_(by_b.c.tenant == principal.org, by_b.c.identity_index == line.c.index_b),
            )
        )
        .subquery("resolved")
    )
    unresolved = (
        await unit.execute(sa.select(sa.func.count()).where(resolved.c.client_id.is_(None)))
    ).scalar_one()
    if unresolved:
        return int(unresolved)
    natural = (
        resolved.c.client_id,
        resolved.c.effective_at,
        resolved.c.model_id,
        resolved.c.model_version,
        resolved.c.decided_code,
        resolved.c.recorded_by,
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
    first_of_each = sa.select(sa.func.min(resolved.c.line)).group_by(*natural)
    rank = sa.func.row_number().over(
        partition_by=resolved.c.client_id, order_by=(resolved.c.effective_at, resolved.c.line)
    )
    columns = [c.name for c in new.columns if c.name != "rank"]
    await unit.execute(
        sa.insert(new).from_select(
            [*columns, "rank"],
            sa.select(*(resolved.c[name] for name in columns), rank).where(
                resolved.c.line.in_(first_of_each), ~imported_before
            ),
        )
    )
    return 0


async def apply(
    unit: Unit, *, principal: Principal, protector: IdentityProtector, now: datetime
) -> int | None:
    """Write the staged lines; the number of decisions written, or None if this process's
    keys were rotated away (no client could be registered)."""
    await _new_clients(unit, principal, protector, now)
    if await _resolve(unit, principal):
        return None
    await unit.execute(
        sa.insert(counts).from_select(
            ["client_id", "n"],
            sa.select(new.c.client_id, sa.func.count()).group_by(new.c.client_id),
        )
    )
    await unit.execute(
        sa.update(client)
        .values(last_sequence=client.c.last_sequence + counts.c.n)
        .where(client.c.id == counts.c.client_id)
    )
    stamp = await unit.change_stamp()
    empty = sa.literal({}, JSONDocument)
    decisions = (
        sa.select(
            new.c.assessment_id,
            sa.literal(principal.org),
            new.c.client_id,
            client.c.last_sequence - counts.c.n + new.c.rank,
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
            sa.literal(stamp) if isinstance(stamp, int) else stamp,
        )
        .join(counts, counts.c.client_id == new.c.client_id)
        .join(client, client.c.id == new.c.client_id)
    )
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
        sa.literal(stamp) if isinstance(stamp, int) else stamp,
    ).where(new.c.consent_given.is_not(None))
    await unit.execute(
        sa.insert(consent_event).from_select(
            [
                "id",
                "tenant",
                "client_id",
                "register_name",
                "given",
                "at",
                "recorded_at",
                "recorded_by",
                "source",
                "assessment_id",
                "change_tx",
            ],
            consents,
        )
    )
    first_per_client = sa.select(sa.func.min(new.c.line)).group_by(new.c.client_id)
    logged = sa.select(
        new.c.log_id,
        sa.literal(principal.org),
        sa.literal(now, UTCDateTime),
        sa.literal(principal.sub),
        new.c.client_id,
        sa.literal(principal.operation),
        sa.literal(principal.purpose, sa.String(200)),
        sa.literal("ok"),
    ).where(new.c.line.in_(first_per_client))
    await unit.execute(
        sa.insert(access_log).from_select(
            ["id", "tenant", "at", "actor", "client_id", "operation", "purpose", "outcome"], logged
        )
    )
    return int(written.rowcount)
