"""Beginning an export: its window of committed changes, its policy, and its record.

The export's record (`ExportRun`) is written and committed by the request's owner before a
single row is streamed; the rows themselves are read afterwards on a connection of the
stream's own (app/exports/stream.py).
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.auth import Principal
from app.db import Unit, change_counter, utc_now
from app.errors import BadCursor, FieldError
from app.exports import cursor
from app.exports.models import ExportRun, export_run
from app.exports.queries import Numbered, Policy, Window
from app.tenants import Tenant

FINLAND = ZoneInfo("Europe/Helsinki")
FORMATS = ("csv", "ndjson", "fhir")


@dataclass(frozen=True)
class Export:
    run_id: uuid.UUID
    format: str
    policy: Policy
    window: Window
    with_identity: bool
    next_cursor: str
    # (model, version, segment code) → the segment's Finnish name, as FHIR's display
    names_fi: Mapping[tuple[str, str, int], str]


def policy_of(tenant: Tenant) -> Policy:
    """Every numbered segment of every model version the tenant holds, and its age scope."""
    numbering = tuple(
        Numbered(version.id, version.version, s.code, s.register_code, s.key)
        for model_id in tenant.registry.ids()
        for version in tenant.registry.get_versions(model_id)
        if version.register is not None
        for s in version.segments
        if s.register_code is not None
    )
    return Policy(tenant.id, numbering, tenant.export_min_age)


def _names(tenant: Tenant) -> dict[tuple[str, str, int], str]:
    return {
        (version.id, version.version, s.code): s.name["fi"]
        for model_id in tenant.registry.ids()
        for version in tenant.registry.get_versions(model_id)
        for s in version.segments
    }


_XMAX = sa.text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
# Transactions of this database that have written (hold a transaction id), but this one.
_RUNNING_HERE = sa.text(
    "SELECT backend_xid::text::bigint FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_xid IS NOT NULL"
)


def _signed_distance(xid32: int, xmax: int) -> int:
    """How far a 32-bit transaction id lies from `xmax`, in PostgreSQL's circular order."""
    distance = (xid32 - xmax) % 2**32
    return distance - 2**32 if distance >= 2**31 else distance


async def horizon(unit: Unit) -> int:
    """The point below which every change is settled: nothing still open can commit there.

    PostgreSQL: the oldest transaction still running in this database, else the snapshot's
    xmax. Unlike the snapshot's xmin this ignores transactions of other databases on the same
    server (which can never write these rows, but would hold an export back while they run).
    The snapshot comes first: a transaction that gets its id after it is above its xmax.
    SQLite: one writer at a time, committing in order — the counter's next value.
    """
    if unit.dialect != "postgresql":
        query = sa.select(change_counter.c.value + 1).where(change_counter.c.id == 1)
        return int((await unit.execute(query)).scalar_one())
    xmax = int((await unit.execute(_XMAX)).scalar_one())
    running = [int(xid) for xid in (await unit.execute(_RUNNING_HERE)).scalars()]
    # pg_stat_activity shows 32-bit ids; each is within 2^31 of xmax, on either side of it.
    full = [xmax + _signed_distance(xid, xmax) for xid in running]
    return min([xmax, *full])


async def begin(
    unit: Unit,
    *,
    principal: Principal,
    fmt: str,
    since: str | None,
    cursor_keys: Sequence[bytes],
) -> Export:
    """Fix the export's window and policy, and record it for the access log."""
    policy = policy_of(principal.tenant)
    until = await horizon(unit)
    now = utc_now()
    today = now.astimezone(FINLAND).date()
    window = Window(0, until, None, today)
    if since is not None:
        try:
            position = cursor.decode(since, principal.org, cursor_keys)
        except cursor.BadCursor as exc:
            raise BadCursor(
                f"The cursor cannot be used: {exc}.", [FieldError("since", str(exc))]
            ) from None
        if position.until_tx > until:
            raise BadCursor(
                "The cursor is ahead of this database.",
                [FieldError("since", "ahead of this database")],
            )
        window = Window(position.until_tx, until, position.day, today)
    run = ExportRun(
        tenant=principal.org,
        at=now,
        actor=principal.sub,
        purpose=principal.purpose,
        format=fmt,
        since_tx=window.since_tx,
        until_tx=window.until_tx,
        since_day=window.since_day,
        until_day=window.until_day,
        min_age=policy.min_age,
        numbering=[
            [n.model_id, n.model_version, n.code, n.register_code, n.key] for n in policy.numbering
        ],
    )
    await unit.execute(sa.insert(export_run).values(run.model_dump()))
    return Export(
        run_id=run.id,
        format=fmt,
        policy=policy,
        window=window,
        with_identity="identity:read" in principal.scopes,
        next_cursor=cursor.encode(cursor.Position(principal.org, until, today), cursor_keys[0]),
        names_fi=_names(principal.tenant),
    )


def policy_of_run(run: ExportRun) -> tuple[Policy, Window]:
    """The policy and window an export read, from its record."""
    numbering = tuple(Numbered(*entry) for entry in run.numbering)
    window = Window(run.since_tx, run.until_tx, run.since_day, run.until_day)
    return Policy(run.tenant, numbering, run.min_age), window


def today_in_finland() -> date:
    return utc_now().astimezone(FINLAND).date()
