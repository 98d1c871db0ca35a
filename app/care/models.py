"""Tables of care coordination: who is on a client's care team, and which plans exist.

Rows are only ever inserted. A membership ends by an end row pointing at it (at most one), so
the team at any moment can be read back; a plan is replaced by a newer plan of its kind. What a
plan says stays in the patient record: only that it exists and when it is reviewed is kept.
"""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import UTCDateTime
from app.ids import new_id

ROLES = ("named_contact", "team_member")
PLAN_KINDS = (
    "client_plan",
    "service_plan",
    "health_and_care_plan",
    "rehabilitation_plan",
    "substance_use_plan",
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CareTeamMember(SQLModel, table=True):
    __tablename__ = "care_team_member"
    __table_args__ = (
        sa.CheckConstraint(_one_of("role", ROLES), name="role"),
        sa.Index("ix_care_team_member_client_role", "client_id", "role", "valid_from"),
        # "Mine": a professional's memberships within a tenant.
        sa.Index("ix_care_team_member_tenant_professional", "tenant", "professional"),
    )

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    client_id: uuid.UUID = Column(foreign_key="client.id")
    professional: str = Column(max_length=255)
    role: str = Column(max_length=16)
    title: str = Column(max_length=100)
    valid_from: datetime = Column(sa_type=UTCDateTime)
    recorded_at: datetime = Column(sa_type=UTCDateTime)
    recorded_by: str = Column(max_length=255)


class CareTeamEnd(SQLModel, table=True):
    """The end of a membership: one per membership, never changed (ending twice is refused)."""

    __tablename__ = "care_team_end"

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    member_id: uuid.UUID = Column(foreign_key="care_team_member.id", unique=True)
    at: datetime = Column(sa_type=UTCDateTime)
    recorded_at: datetime = Column(sa_type=UTCDateTime)
    recorded_by: str = Column(max_length=255)


class CarePlan(SQLModel, table=True):
    __tablename__ = "care_plan"
    __table_args__ = (
        sa.CheckConstraint(_one_of("kind", PLAN_KINDS), name="kind"),
        sa.Index("ix_care_plan_client_kind", "client_id", "kind", "made_at"),
        # The re-assessment worklist reads plans in the order their reviews fall due.
        sa.Index("ix_care_plan_tenant_review", "tenant", "review_at", "client_id"),
    )

    id: uuid.UUID = Column(default_factory=new_id, primary_key=True)
    tenant: str = Column(max_length=64)
    client_id: uuid.UUID = Column(foreign_key="client.id")
    kind: str = Column(max_length=32)
    made_at: datetime = Column(sa_type=UTCDateTime)
    review_by: date
    # The moment `review_by` begins in Finland, fixed when the plan is recorded, so that both
    # databases compare it with the segment's moments without time-zone arithmetic.
    review_at: datetime = Column(sa_type=UTCDateTime)
    recorded_at: datetime = Column(sa_type=UTCDateTime)
    recorded_by: str = Column(max_length=255)


care_team_member = CareTeamMember.__table__  # type: ignore[attr-defined]
care_team_end = CareTeamEnd.__table__  # type: ignore[attr-defined]
care_plan = CarePlan.__table__  # type: ignore[attr-defined]
