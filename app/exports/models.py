"""One row per export: what it disclosed can be worked out again from it at any time."""

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import JSONDocument, UTCDateTime
from app.ids import new_id


class ExportRun(SQLModel, table=True):
    """An export, as the access log needs it: who, when, why, and exactly which window of
    committed changes under which policy it read.

    Rows below a horizon never change (nothing is updated or deleted), so the clients an export
    disclosed are determined by this row; each client's access log resolves them when it is
    read, instead of the export writing a row per client (app/exports/disclosures.py).
    """

    __tablename__ = "export_run"
    __table_args__ = (sa.Index("ix_export_run_tenant_until_tx", "tenant", "until_tx"),)

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    at: datetime = Column(sa_type=UTCDateTime)
    actor: str = Column(max_length=255)
    purpose: str | None = Column(default=None, max_length=200)
    format: str = Column(max_length=16)
    # The window of committed changes read: [since_tx, until_tx); since_tx 0 is a full export.
    since_tx: int = Column(sa_type=sa.BigInteger)
    until_tx: int = Column(sa_type=sa.BigInteger)
    # The days the roll-out age was reckoned on: the previous export's, and this one's.
    since_day: date | None = None
    until_day: date
    min_age: int | None = None
    # (model, version, segment code, register code, segment key) of every numbered segment.
    numbering: list[Any] = Column(sa_type=JSONDocument)


export_run = ExportRun.__table__  # type: ignore[attr-defined]
