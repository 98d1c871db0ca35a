"""The client table: one person as known to one tenant."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import UTCDateTime


class Client(SQLModel, table=True):
    """The identity code is stored only encrypted; lookups go through a keyed hash (blind
    index), so the database alone never reveals who is who."""

    __tablename__ = "client"
    __table_args__ = (
        sa.UniqueConstraint("tenant", "identity_index"),
        sa.CheckConstraint("identity_kind IN ('hetu', 'external')", name="identity_kind"),
    )

    id: uuid.UUID = Column(default_factory=uuid.uuid4, primary_key=True)
    tenant: str = Column(max_length=64)
    identity_kind: str = Column(max_length=16)
    identity_index: str = Column(max_length=64)
    hetu_encrypted: str | None = Column(default=None, max_length=255)
    external_system: str | None = Column(default=None, max_length=255)
    external_value: str | None = Column(default=None, max_length=255)
    created_at: datetime = Column(sa_type=UTCDateTime)
    created_by: str = Column(max_length=255)


client = Client.__table__  # type: ignore[attr-defined]
