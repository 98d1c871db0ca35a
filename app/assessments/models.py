"""Tables of the segment timeline: assessments and their retractions.

Rows here are only ever inserted. A correction is a new assessment; an error is a retraction
row pointing at the assessment.
"""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import JSONDocument, UTCDateTime
from app.ids import new_id


class Assessment(SQLModel, table=True):
    __tablename__ = "assessment"
    __table_args__ = (
        # The per-client sequence makes concurrent writers for one client collide in the
        # database even if a lock were ever missed: the second insert fails, nothing interleaves.
        sa.UniqueConstraint("client_id", "sequence"),
        sa.Index("ix_assessment_tenant_client_effective", "tenant", "client_id", "effective_at"),
        sa.CheckConstraint("source IN ('assessment', 'import')", name="source"),
        # A re-imported line finds its first import by what it says and changes nothing.
        sa.Index(
            "uq_assessment_imported",
            "client_id",
            "effective_at",
            "model_id",
            "model_version",
            "decided_code",
            "recorded_by",
            unique=True,
            sqlite_where=sa.text("source = 'import'"),
            postgresql_where=sa.text("source = 'import'"),
        ),
        sa.Index("ix_assessment_tenant_change_tx", "tenant", "change_tx"),
    )

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    client_id: uuid.UUID = Column(foreign_key="client.id")
    sequence: int
    model_id: str = Column(max_length=64)
    model_version: str = Column(max_length=32)
    answers: dict[str, Any] = Column(sa_type=JSONDocument)
    details: dict[str, Any] = Column(sa_type=JSONDocument)
    suggested_code: int | None = None
    decided_code: int
    override_reason: str | None = Column(default=None, max_length=2000)
    # {"fi": [...], "sv": [...], "en": [...]} exactly as shown when it was recorded
    explanation: dict[str, list[str]] = Column(sa_type=JSONDocument)
    warnings: dict[str, list[str]] = Column(sa_type=JSONDocument)
    attention: bool | None = None
    effective_at: datetime = Column(sa_type=UTCDateTime)
    recorded_at: datetime = Column(sa_type=UTCDateTime)
    recorded_by: str = Column(max_length=255)
    source: str = Column(default="assessment", max_length=16)
    # Whether the segment was assessed together with the client; None when not recorded.
    discussed_with_client: bool | None = None
    # The order changes committed in (app/db.py `change_stamp`): exports read by it.
    change_tx: int | None = Column(default=None, sa_type=sa.BigInteger, nullable=False)


class Retraction(SQLModel, table=True):
    __tablename__ = "retraction"
    __table_args__ = (sa.Index("ix_retraction_tenant_change_tx", "tenant", "change_tx"),)

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    assessment_id: uuid.UUID = Column(foreign_key="assessment.id", unique=True)
    reason: str = Column(max_length=2000)
    retracted_at: datetime = Column(sa_type=UTCDateTime)
    retracted_by: str = Column(max_length=255)
    change_tx: int | None = Column(default=None, sa_type=sa.BigInteger, nullable=False)


class SegmentNow(SQLModel, table=True):
    """The segment in force now, one row per client with one: derived from the timeline in
    the transaction that changes it (app/assessments/current.py), never written otherwise.
    It is the one table here whose rows are replaced — it holds no record of its own, only
    where the timeline stands, so the worklists need not rank every client's history.

    Neither projection has foreign keys: each row is selected from `assessment` by the
    statement that writes it, in the transaction that wrote the assessment, and no client or
    assessment is ever deleted. The checks were a third of an import's database time (a key
    lookup and lock per referenced row) and guarded nothing the writing statement does not;
    tests/care/test_segment_now.py checks the projections against the timeline instead."""

    __tablename__ = "segment_now"
    __table_args__ = (
        # Worklists walk each (model, version, segment) in the order its segments took effect.
        sa.Index(
            "ix_segment_now_tenant_segment_from",
            "tenant",
            "model_id",
            "model_version",
            "decided_code",
            "valid_from",
            "client_id",
        ),
    )

    client_id: uuid.UUID = Column(primary_key=True)
    tenant: str = Column(max_length=64)
    assessment_id: uuid.UUID
    model_id: str = Column(max_length=64)
    model_version: str = Column(max_length=32)
    decided_code: int
    valid_from: datetime = Column(sa_type=UTCDateTime)


class SegmentSpan(SQLModel, table=True):
    """How long each active decision was the segment in force: from its effective time until
    the next active decision of the client took effect (`valid_to` NULL: in force now).
    Derived from the timeline in the transaction that changes it (current.py), like
    `segment_now`, so that population figures at any time — and between two times — are a
    range scan instead of ranking every client's history once per time asked. A decision
    replaced at the very moment it took effect has no span."""

    __tablename__ = "segment_span"
    __table_args__ = (
        # Population figures: the spans of a model that had begun by a time, with what they
        # count, readable from the index alone.
        sa.Index(
            "ix_segment_span_tenant_model_from",
            "tenant",
            "model_id",
            "valid_from",
            "valid_to",
            "decided_code",
            "client_id",
        ),
        # A client's spans (replaced at every decision): tenant first, as every lookup names
        # it. With `client_id` alone the planner, on a table without statistics yet, took the
        # index above for `tenant = … AND client_id = …` and read the tenant's every span for
        # each write (a quarter of PostgreSQL's time per write in bench/throughput.py).
        sa.Index("ix_segment_span_tenant_client", "tenant", "client_id"),
    )

    assessment_id: uuid.UUID = Column(primary_key=True)
    tenant: str = Column(max_length=64)
    client_id: uuid.UUID
    model_id: str = Column(max_length=64)
    model_version: str = Column(max_length=32)
    decided_code: int
    valid_from: datetime = Column(sa_type=UTCDateTime)
    valid_to: datetime | None = Column(default=None, sa_type=UTCDateTime)


assessment = Assessment.__table__  # type: ignore[attr-defined]
segment_now = SegmentNow.__table__  # type: ignore[attr-defined]
retraction = Retraction.__table__  # type: ignore[attr-defined]
segment_span = SegmentSpan.__table__  # type: ignore[attr-defined]
