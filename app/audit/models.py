"""The access log (Act 703/2023): who touched which client's data, when, how and why."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import UTCDateTime
from app.ids import new_id


class AccessLogEntry(SQLModel, table=True):
    __tablename__ = "access_log"
    __table_args__ = (sa.Index("ix_access_log_tenant_client_at", "tenant", "client_id", "at"),)

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    at: datetime = Column(sa_type=UTCDateTime)
    actor: str = Column(max_length=255)
    # No foreign key: an attempt on an id that is not (or not this tenant's) client is logged too.
    client_id: uuid.UUID | None = Column(default=None)
    operation: str = Column(max_length=64)
    purpose: str | None = Column(default=None, max_length=200)
    outcome: str = Column(max_length=32)


access_log = AccessLogEntry.__table__  # type: ignore[attr-defined]
