"""The SQL of care coordination: memberships and plans in force, what clients have, and the
segments in force now that the worklists read.

A worklist's order depends on the tenant's policy per (model, version, segment), which lives
in the tenant file, not the database. So each list is read as one index scan per such group,
already in the list's order, and the groups are merged (app/care/worklists.py): no query
sorts a tenant's whole population.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from app.assessments.models import assessment, retraction
from app.care.models import care_plan, care_team_end, care_team_member
from app.clients.models import client


def member_in_force(at: datetime, member: sa.Table | Any = care_team_member) -> ColumnElement[bool]:
    end = care_team_end.alias()
    ended = sa.exists().where(end.c.member_id == member.c.id, end.c.at <= at)
    return sa.and_(member.c.valid_from <= at, ~ended)


def holds_role(client_id: ColumnElement[Any], role: str, at: datetime) -> ColumnElement[bool]:
    member = care_team_member.alias()
    return sa.exists().where(
        member.c.client_id == client_id, member.c.role == role, member_in_force(at, member)
    )


def holds_plan(client_id: ColumnElement[Any], at: datetime) -> ColumnElement[bool]:
    plan = care_plan.alias()
    return sa.exists().where(plan.c.client_id == client_id, plan.c.made_at <= at)


def plan_open(plan: Any, at: datetime) -> ColumnElement[bool]:
    """The plan is the newest of its kind for its client made by `at` (a newer one replaces
    it; of two made at the same moment, the one recorded later)."""
    newer = care_plan.alias()
    return sa.and_(
        plan.c.made_at <= at,
        ~sa.exists().where(
            newer.c.client_id == plan.c.client_id,
            newer.c.kind == plan.c.kind,
            newer.c.made_at <= at,
            sa.tuple_(newer.c.made_at, newer.c.recorded_at, newer.c.id)
            > sa.tuple_(plan.c.made_at, plan.c.recorded_at, plan.c.id),
        ),
    )


def earliest_open_review(client_id: ColumnElement[Any], at: datetime) -> sa.ScalarSelect[Any]:
    plan = care_plan.alias()
    return (
        sa.select(sa.func.min(plan.c.review_at))
        .where(plan.c.client_id == client_id, plan_open(plan, at))
        .scalar_subquery()
    )


HELD = {"named_contact": "named_contact", "team": "team_member"}


def lacks(kind: str, client_id: ColumnElement[Any], at: datetime) -> ColumnElement[bool]:
    if kind == "plan":
        return ~holds_plan(client_id, at)
    return ~holds_role(client_id, HELD[kind], at)


def holdings(client_ids: Sequence[uuid.UUID], at: datetime) -> sa.Select[Any]:
    """Per client: whether it has a named contact, a team member and a plan at `at`, and the
    earliest review of its open plans."""
    client_id = client.c.id
    return sa.select(
        client_id.label("client_id"),
        holds_role(client_id, "named_contact", at).label("named_contact"),
        holds_role(client_id, "team_member", at).label("team"),
        holds_plan(client_id, at).label("plan"),
        earliest_open_review(client_id, at).label("plan_review_at"),
    ).where(client_id.in_(client_ids))


class within_days_of(ColumnElement[bool]):
    """`moment` < (or, not `strict`, <=) `base` + `days` whole days, on either database: the
    tenant's interval is a number from its policy file, so this is how a plan's review is
    compared with a segment's policy date in SQL."""

    inherit_cache = False
    type = sa.Boolean()

    def __init__(
        self, moment: ColumnElement[Any], base: ColumnElement[Any], days: int, *, strict: bool
    ) -> None:
        self.moment, self.base, self.days, self.strict = moment, base, int(days), strict


@compiles(within_days_of, "postgresql")
def _within_days_of_pg(element: within_days_of, compiler: Any, **kw: Any) -> str:
    moment, base = compiler.process(element.moment, **kw), compiler.process(element.base, **kw)
    operator = "<" if element.strict else "<="
    return f"{moment} {operator} {base} + interval '{element.days} days'"


@compiles(within_days_of, "sqlite")
def _within_days_of_sqlite(element: within_days_of, compiler: Any, **kw: Any) -> str:
    # Stored moments are ISO text; julianday reads them as day numbers.
    moment, base = compiler.process(element.moment, **kw), compiler.process(element.base, **kw)
    operator = "<" if element.strict else "<="
    return f"julianday({moment}) {operator} julianday({base}) + {element.days}"


def _active(row: Any) -> ColumnElement[bool]:
    return ~sa.exists().where(retraction.c.assessment_id == row.c.id)


def current(
    tenant: str, now: datetime, client_ids: Sequence[uuid.UUID] | None = None
) -> sa.Subquery:
    """The tenant's segments in force now, one row per assessed client (of `client_ids`).

    The definition of app/assessments/queries.py `in_force`, written row by row — an active
    assessment that had taken effect, with no later active one for its client — so that a
    reader filtering on (model, version, segment) and ordering by `valid_from` walks
    `ix_assessment_tenant_segment_effective` and probes each client's latest, instead of
    ranking the tenant's whole timeline. The walk still passes the superseded decisions of
    the group, oldest first — exactly where the most overdue clients are — so on a long
    history the maintained table of the segment in force (`segment_period`, valid_to NULL)
    is to replace this, with the same columns and an index on (tenant, model_id,
    model_version, decided_code, valid_from, client_id) WHERE valid_to IS NULL.
    """
    row, later = assessment, assessment.alias("later")
    superseded = sa.exists().where(
        later.c.client_id == row.c.client_id,
        later.c.tenant == row.c.tenant,
        later.c.effective_at <= now,
        sa.tuple_(later.c.effective_at, later.c.sequence)
        > sa.tuple_(row.c.effective_at, row.c.sequence),
        _active(later),
    )
    criteria = [row.c.tenant == tenant, row.c.effective_at <= now, _active(row), ~superseded]
    if client_ids is not None:
        criteria.append(row.c.client_id.in_(client_ids))
    return (
        sa.select(
            row.c.tenant,
            row.c.client_id,
            row.c.id.label("assessment_id"),
            row.c.model_id,
            row.c.model_version,
            row.c.decided_code,
            row.c.effective_at.label("valid_from"),
        )
        .where(*criteria)
        .subquery("current")
    )
