"""Writing and reading the access log.

`record` hands the entry to the request's unit of work, which writes it with the work it
describes (app/db.py): there is never work without its log line, nor a log line for work that
was rolled back. A refused attempt is recorded by the request's owner after the rollback.
"""

import uuid

import sqlalchemy as sa

from app.audit.models import AccessLogEntry, access_log
from app.auth import Principal
from app.db import Unit, utc_now


def record(
    unit: Unit, principal: Principal, *, client_id: uuid.UUID | None, outcome: str = "ok"
) -> None:
    """Log the principal's current operation on a client's data."""
    unit.defer(
        access_log,
        {
            "id": uuid.uuid4(),
            "tenant": principal.org,
            "at": utc_now(),
            "actor": principal.sub,
            "client_id": client_id,
            "operation": principal.operation,
            "purpose": principal.purpose,
            "outcome": outcome,
        },
    )


async def client_log(
    unit: Unit, principal: Principal, client_id: uuid.UUID
) -> list[AccessLogEntry]:
    """The tenant's access-log entries for a client, newest first (exports that disclosed it
    are worked out by app/exports/disclosures.py)."""
    rows = await unit.execute(
        sa.select(access_log)
        .where(access_log.c.tenant == principal.org, access_log.c.client_id == client_id)
        .order_by(access_log.c.at.desc(), access_log.c.id.desc())
    )
    entries = [AccessLogEntry(**row._mapping) for row in rows]
    record(unit, principal, client_id=client_id)
    return entries
