"""`Idempotency-Key`: a retried write returns its first response and writes nothing again.

The record of a key is written in the same transaction as the work, so a key is remembered
exactly when its work committed. Two concurrent requests with one key collide on the unique
constraint (or one waits on the client's lock); the later rolls back and replays the first.
"""

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field as Column
from sqlmodel import Session, SQLModel, select

from app.audit import service as audit
from app.auth import Principal
from app.db import JSONDocument, UTCDateTime, utc_now
from app.errors import SegmenttiError, invalid

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


@dataclass(frozen=True)
class Idempotency:
    """A request's Idempotency-Key, and the secret its body fingerprints are keyed with.

    The fingerprint must be keyed: a body holds an identity code, and an unkeyed hash of it
    could be reversed by trying every code.
    """

    key: str | None
    secret: bytes

    def fingerprint(self, operation: str, target: str, body: BaseModel) -> str:
        canonical = json.dumps([operation, target, body.model_dump(mode="json")], sort_keys=True)
        return hmac.new(self.secret, canonical.encode(), hashlib.sha256).hexdigest()


def idempotency(request: Request, key: IdempotencyKey = None) -> Idempotency:
    secret: bytes = request.app.state.fingerprint_secret
    return Idempotency(key, secret)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]


def _stored(session: Session, principal: Principal, key: str) -> IdempotencyRecord | None:
    return session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.tenant == principal.org, IdempotencyRecord.key == key
        )
    ).first()


def _replay(
    session: Session,
    principal: Principal,
    record: IdempotencyRecord,
    print_: str,
    operation: str,
    response_type: type[R],
) -> tuple[R, bool]:
    if record.fingerprint != print_:
        raise invalid("Idempotency-Key", "this key was already used with another request")
    response = response_type.model_validate(record.response)
    audit.record(
        session,
        principal,
        operation=operation,
        client_id=getattr(response, "client_id", None),
        outcome="replayed",
    )
    session.commit()
    return response, True


def run_once(
    session: Session,
    principal: Principal,
    idempotency: Idempotency,
    *,
    operation: str,
    target: str,
    body: BaseModel,
    response_type: type[R],
    work: Callable[[], R],
) -> tuple[R, bool]:
    """Do `work` and commit, or replay the response of the first request with this key.

    `work` adds its rows to the session without committing. Returns the response and whether
    it is a replay. A request that waited for the first one with its key (on the client's
    lock or the key's unique constraint) replays it too, instead of failing on what the first
    one did.
    """
    key = idempotency.key
    if key is None:
        response = work()
        session.commit()
        return response, False
    print_ = idempotency.fingerprint(operation, target, body)
    record = _stored(session, principal, key)
    if record is not None:
        return _replay(session, principal, record, print_, operation, response_type)
    try:
        response = work()
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
        session.commit()
    except (IntegrityError, SegmenttiError):
        session.rollback()
        record = _stored(session, principal, key)
        if record is None:
            raise
        return _replay(session, principal, record, print_, operation, response_type)
    return response, False
