"""Check values of the keys a database has been used with; never the keys themselves."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import UTCDateTime


class KeyCheck(SQLModel, table=True):
    """One key's check value (app/keys.py `check_value`) and its role: `current` (new rows
    are written with it; one per key name) or `retired` (replaced by a rotation)."""

    __tablename__ = "key_check"
    __table_args__ = (
        sa.CheckConstraint("name IN ('data_key', 'index_key')", name="name"),
        sa.CheckConstraint("role IN ('current', 'retired')", name="role"),
        sa.Index(
            "uq_key_check_current",
            "name",
            unique=True,
            sqlite_where=sa.text("role = 'current'"),
            postgresql_where=sa.text("role = 'current'"),
        ),
    )

    name: str = Column(primary_key=True, max_length=16)
    check_value: str = Column(primary_key=True, max_length=64)
    role: str = Column(max_length=16)
    recorded_at: datetime = Column(sa_type=UTCDateTime)


key_check = KeyCheck.__table__  # type: ignore[attr-defined]
