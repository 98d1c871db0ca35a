"""Writing and reading the access log.

`record` only adds the entry to the caller's session: it is committed by the same commit as the
work it describes, so there is never work without its log line nor a log line for work that
was rolled back. Refusals are recorded by `record_refusal` in a transaction of their own.
"""

import uuid

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.models import AccessLog, AccessLogEntry, AccessLogItem
from app.auth import Principal
from app.db import utc_now


def record(
    session: Session,
    principal: Principal,
    *,
    operation: str,
    client_id: uuid.UUID | None,
    outcome: str = "ok",
) -> None:
    session.add(
        AccessLogEntry(
            tenant=principal.org,
            at=utc_now(),
            actor=principal.sub,
            client_id=client_id,
            operation=operation,
            purpose=principal.purpose,
            outcome=outcome,
        )
    )


def record_refusal(
    session: Session,
    principal: Principal,
    *,
    operation: str,
    client_id: uuid.UUID | None,
    outcome: str,
) -> None:
    """Log a refused access after rolling back whatever the refused request had begun."""
    session.rollback()
    record(session, principal, operation=operation, client_id=client_id, outcome=outcome)
    session.commit()


def read_client_log(session: Session, principal: Principal, client_id: uuid.UUID) -> AccessLog:
    entries = session.exec(
        select(AccessLogEntry)
        .where(AccessLogEntry.tenant == principal.org, AccessLogEntry.client_id == client_id)
        .order_by(sa.desc(AccessLogEntry.at), sa.desc(AccessLogEntry.id))  # type: ignore[call-overload]
    ).all()
    record(session, principal, operation="read_access_log", client_id=client_id)
    session.commit()
    return AccessLog(items=[AccessLogItem.model_validate(e, from_attributes=True) for e in entries])
