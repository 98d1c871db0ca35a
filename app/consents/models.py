"""Consent events: given and withdrawn, each dated; rows are only ever inserted."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import UTCDateTime
from app.ids import new_id


class ConsentEvent(SQLModel, table=True):
    __tablename__ = "consent_event"
    __table_args__ = (
        sa.Index("ix_consent_event_tenant_client_at", "tenant", "client_id", "at"),
        sa.Index("ix_consent_event_tenant_change_tx", "tenant", "change_tx"),
        sa.CheckConstraint("register_name IN ('health')", name="register_name"),
        sa.CheckConstraint("source IN ('consent', 'assessment', 'import')", name="source"),
    )

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    client_id: uuid.UUID = Column(foreign_key="client.id")
    register_name: str = Column(max_length=16)
    given: bool
    at: datetime = Column(sa_type=UTCDateTime)
    recorded_at: datetime = Column(sa_type=UTCDateTime)
    recorded_by: str = Column(max_length=255)
    source: str = Column(max_length=16)
    assessment_id: uuid.UUID | None = Column(default=None, foreign_key="assessment.id")
    change_tx: int | None = Column(default=None, sa_type=sa.BigInteger, nullable=False)


consent_event = ConsentEvent.__table__  # type: ignore[attr-defined]
