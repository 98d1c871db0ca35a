"""The client table: one person as known to one tenant."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import UTCDateTime
from app.ids import new_id


class Client(SQLModel, table=True):
    """The identity code is stored only encrypted; lookups go through a keyed hash (blind
    index), so the database alone never reveals who is who."""

    __tablename__ = "client"
    __table_args__ = (
        sa.UniqueConstraint("tenant", "identity_index"),
        sa.CheckConstraint("identity_kind IN ('hetu', 'external')", name="identity_kind"),
    )

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    identity_kind: str = Column(max_length=16)
    identity_index: str = Column(max_length=64)
    hetu_encrypted: str | None = Column(default=None, max_length=255)
    external_system: str | None = Column(default=None, max_length=255)
    external_value: str | None = Column(default=None, max_length=255)
    created_at: datetime = Column(sa_type=UTCDateTime)
    created_by: str = Column(max_length=255)
    # From the identity code, for the age a tenant's policies need (export roll-out scope,
    # age bands); None for a client known only by an external id.
    birth_date: date | None = None
    # The last sequence number handed to the client's assessments: taking the next one locks
    # the client's row, which orders every writer for one client.
    last_sequence: int = Column(default=0)


client = Client.__table__  # type: ignore[attr-defined]
