"""`Idempotency-Key`: a retried write returns its first response and writes nothing again.

The record of a key is written in the same transaction as the work, so a key is remembered
exactly when its work committed. Two concurrent requests with one key collide on the unique
constraint; the loser rolls back its work and replays the winner's response.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import Header
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field as Column
from sqlmodel import Session, SQLModel, select

from app.auth import Principal
from app.db import JSONDocument, UTCDateTime, utc_now
from app.errors import invalid

R = TypeVar("R", bound=BaseModel)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retry-safe writes: a repeat with the same key and body returns the "
        "first response and writes nothing.",
    ),
]


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("tenant", "key"),)

    id: uuid.UUID = Column(default_factory=uuid.uuid4, primary_key=True)
    tenant: str = Column(max_length=64)
    key: str = Column(max_length=255)
    fingerprint: str = Column(max_length=64)
    response: dict[str, Any] = Column(sa_type=JSONDocument)
    created_at: datetime = Column(sa_type=UTCDateTime)
    created_by: str = Column(max_length=255)


def fingerprint(operation: str, target: str, body: BaseModel) -> str:
    canonical = json.dumps([operation, target, body.model_dump(mode="json")], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _stored(session: Session, principal: Principal, key: str) -> IdempotencyRecord | None:
    return session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.tenant == principal.org, IdempotencyRecord.key == key
        )
    ).first()


def _replay(record: IdempotencyRecord, print_: str, response_type: type[R]) -> R:
    if record.fingerprint != print_:
        raise invalid("Idempotency-Key", "this key was already used with another request")
    return response_type.model_validate(record.response)


def run_once(
    session: Session,
    principal: Principal,
    key: str | None,
    print_: str,
    response_type: type[R],
    work: Callable[[], R],
) -> tuple[R, bool]:
    """Do `work` and commit, or replay the response of the first request with this key.

    `work` adds its rows to the session without committing. Returns the response and whether
    it is a replay.
    """
    if key is not None:
        record = _stored(session, principal, key)
        if record is not None:
            return _replay(record, print_, response_type), True
    response = work()
    if key is not None:
        session.add(
            IdempotencyRecord(
                tenant=principal.org,
                key=key,
                fingerprint=print_,
                response=response.model_dump(mode="json"),
                created_at=utc_now(),
                created_by=principal.sub,
            )
        )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        record = _stored(session, principal, key) if key is not None else None
        if record is None:
            raise
        return _replay(record, print_, response_type), True
    return response, False
