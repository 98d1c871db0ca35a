"""The SQL of care coordination: memberships and plans in force, what clients have, and the
segments in force now that the worklists read.

A worklist's order depends on the tenant's policy per (model, version, segment), which lives
in the tenant file, not the database. So each list is read as one index scan per such group,
already in the list's order, and the groups are merged (app/care/worklists.py): no query
sorts a tenant's whole population.
"""

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from app.assessments.models import assessment, segment_now
from app.assessments.queries import in_force
from app.assessments.service import IN_FORCE
from app.audit.models import access_log
from app.care.models import care_plan, care_team_end, care_team_member
from app.clients.models import client
from app.consents.models import consent_event
from app.db import UTCDateTime


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


def _holdings(at: Any) -> sa.Select[Any]:
    client_id = client.c.id
    return sa.select(
        client_id.label("client_id"),
        holds_role(client_id, "named_contact", at).label("named_contact"),
        holds_role(client_id, "team_member", at).label("team"),
        holds_plan(client_id, at).label("plan"),
        earliest_open_review(client_id, at).label("plan_review_at"),
    )


def holdings(client_ids: Sequence[uuid.UUID], at: datetime) -> sa.Select[Any]:
    """Per client: whether it has a named contact, a team member and a plan at `at`, and the
    earliest review of its open plans."""
    return _holdings(at).where(client.c.id.in_(client_ids))


def _consent_now(column: sa.Column[Any], now: Any) -> sa.ScalarSelect[Any]:
    """`column` of the client's health-register consent event in force at `now`: the latest
    to have taken effect, of two at the same moment the one recorded later (as
    app/consents/service.py's `consent_at`)."""
    return (
        sa.select(column)
        .where(
            # The tenant too: the events' index leads with it (tests/test_query_plans.py).
            consent_event.c.tenant == client.c.tenant,
            consent_event.c.client_id == client.c.id,
            consent_event.c.register_name == "health",
            consent_event.c.at <= now,
        )
        .order_by(consent_event.c.at.desc(), consent_event.c.recorded_at.desc())
        .limit(1)
        .scalar_subquery()
    )


LOGGED = ("id", "tenant", "at", "actor", "client_id", "operation", "purpose", "outcome")


@functools.cache
def segment_read(dialect: str) -> sa.Select[Any]:
    """`GET …/segment` in one statement, built once: the client's tenant (`owner`; no row: no
    such client), the assessment in force at `:at` among the caller's tenant's (`:tenant`;
    its columns NULL: none), the coordination the client has at `:at` and the
    health-register consent at `:now`.

    On PostgreSQL the statement also writes the read's access-log row (parameters `log_` +
    its columns), only when it found the segment (`logged` 1): the read and its log line are
    one transaction, one round trip (issue 10). SQLite has no INSERT in a WITH; there the
    caller writes the row with its unit.
    """
    client_id = sa.bindparam("client_id", type_=sa.Uuid)
    at = sa.bindparam("at", type_=UTCDateTime)
    now = sa.bindparam("now", type_=UTCDateTime)
    criteria = (assessment.c.client_id == client_id, assessment.c.tenant == sa.bindparam("tenant"))
    current = in_force(at, *criteria).cte("current")
    held = [c for c in _holdings(at).selected_columns if c.name != "client_id"]
    read = (
        sa.select(
            client.c.tenant.label("owner"),
            *(current.c[name] for name in IN_FORCE),
            *held,
            _consent_now(consent_event.c.given, now).label("consent_given"),
            _consent_now(consent_event.c.at, now).label("consent_since"),
        )
        .select_from(client.outerjoin(current, sa.true()))
        .where(client.c.id == client_id)
    )
    if dialect != "postgresql":
        return read
    types = {"id": sa.Uuid, "client_id": sa.Uuid, "at": UTCDateTime}
    row: list[sa.BindParameter[Any]] = [
        sa.bindparam(f"log_{name}", type_=types.get(name, sa.String)) for name in LOGGED
    ]
    entry = sa.select(*row).where(sa.exists(sa.select(current.c.id)))
    logged = (
        sa.insert(access_log)
        .from_select(list(LOGGED), entry)
        .returning(access_log.c.id)
        .cte("logged")
    )
    count = sa.select(sa.func.count()).select_from(logged).scalar_subquery()
    return read.add_columns(count.label("logged"))


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


def current(
    tenant: str, now: datetime, client_ids: Sequence[uuid.UUID] | None = None
) -> sa.Subquery:
    """The tenant's segments in force now, one row per assessed client (of `client_ids`),
    from `segment_now` (app/assessments/current.py): a reader filtering on (model, version,
    segment) and ordering by `valid_from` walks `ix_segment_now_tenant_segment_from`, one
    row per client, instead of ranking the tenant's whole timeline. `now` is kept for the
    readers' sake: no decision takes effect in the future, so the table is in force at it."""
    criteria = [segment_now.c.tenant == tenant, segment_now.c.valid_from <= now]
    if client_ids is not None:
        criteria.append(segment_now.c.client_id.in_(client_ids))
    return (
        sa.select(
            segment_now.c.tenant,
            segment_now.c.client_id,
            segment_now.c.assessment_id,
            segment_now.c.model_id,
            segment_now.c.model_version,
            segment_now.c.decided_code,
            segment_now.c.valid_from,
        )
        .where(*criteria)
        .subquery("current")
    )
