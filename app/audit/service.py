"""Writing and reading the access log.

`record` hands the entry to the request's unit of work, which writes it with the work it
describes (app/db.py): there is never work without its log line, nor a log line for work that
was rolled back. A refused attempt is recorded by the request's owner after the rollback.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.audit.models import AccessLogEntry, access_log
from app.auth import Principal
from app.db import Unit, utc_now
from app.ids import new_id


def entry(
    principal: Principal,
    *,
    client_id: uuid.UUID | None,
    outcome: str = "ok",
    owner: str | None = None,
) -> dict[str, Any]:
    """The access-log row of the principal's current operation on a client's data — in the
    log of the client's tenant (`owner`), which for another tenant's caller names the
    caller's tenant too."""
    foreign = owner is not None and owner != principal.org
    return {
        "id": new_id(),
        "tenant": owner or principal.org,
        "at": utc_now(),
        "actor": f"{principal.sub} ({principal.org})" if foreign else principal.sub,
        "client_id": client_id,
        "operation": principal.operation,
        "purpose": principal.purpose,
        "outcome": outcome,
    }


def record(
    unit: Unit,
    principal: Principal,
    *,
    client_id: uuid.UUID | None,
    outcome: str = "ok",
    owner: str | None = None,
) -> None:
    """Log the principal's current operation on a client's data (see `entry`)."""
    unit.defer(access_log, entry(principal, client_id=client_id, outcome=outcome, owner=owner))


def record_many(unit: Unit, principal: Principal, client_ids: Sequence[uuid.UUID]) -> None:
    """Log the principal's current operation on each of `client_ids` (a list that showed
    them); the rows are written together, in one statement, with the unit's commit."""
    for client_id in client_ids:
        record(unit, principal, client_id=client_id)


async def client_log(
    unit: Unit,
    principal: Principal,
    client_id: uuid.UUID,
    *,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[AccessLogEntry]:
    """The tenant's access-log entries for a client, newest first, at most `limit` of them
    from before `before` (exports that disclosed it are app/exports/disclosures.py's)."""
    query = sa.select(access_log).where(
        access_log.c.tenant == principal.org, access_log.c.client_id == client_id
    )
    if before is not None:
        query = query.where(sa.tuple_(access_log.c.at, access_log.c.id) < sa.tuple_(*before))
    rows = await unit.execute(
        query.order_by(access_log.c.at.desc(), access_log.c.id.desc()).limit(limit)
    )
    entries = [AccessLogEntry(**row._mapping) for row in rows]
    record(unit, principal, client_id=client_id)
    return entries
