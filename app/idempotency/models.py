"""The remembered responses of writes sent with an `Idempotency-Key`."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import UTCDateTime
from app.ids import new_id


class IdempotencyRecord(SQLModel, table=True):
    """A key claimed by a write, and the response it gave.

    The row is inserted when the write begins and completed with the response before the
    write commits, all in the write's own transaction: a key is remembered exactly when its
    work committed, and a second request with the key waits on the first one's row.
    """

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("tenant", "key"),)

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    key: str = Column(max_length=255)
    fingerprint: str = Column(max_length=64)
    status_code: int | None = None
    location: str | None = Column(default=None, max_length=255)
    client_id: uuid.UUID | None = None
    # The first response's body exactly as sent (JSON text; jsonb would reorder its members).
    body: str | None = Column(default=None, sa_type=sa.Text)
    created_at: datetime = Column(sa_type=UTCDateTime)
    created_by: str = Column(max_length=255)
