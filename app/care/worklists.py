"""The worklists that follow from the segment: re-assessments due, coordination gaps, and a
professional's own clients.

Each list is keyset-paged on (key, client_id). A client's place in a list depends on the
tenant's policy for its (model, version, segment), so each list reads one index scan per such
group — the rows of a group are already in the list's order, because the policy adds the same
interval to each of them — and merges the groups here, taking `limit + 1` from each. The
re-assessment list has one more source: clients whose open plan is reviewed before their policy
date, in the order of the reviews; each client comes from exactly one of the two.
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from app.audit import service as audit
from app.auth import Principal
from app.care import queries
from app.care.cursor import Position
from app.care.models import care_plan, care_team_member
from app.db import Unit, UTCDateTime, utc_now
from app.segmentation.catalog import ModelVersion, Segment
from app.segmentation.coordination import Gaps, Holdings, gaps, reassess_by
from app.segmentation.registry import ModelRegistry

DAY = timedelta(days=1)
EARLIEST = datetime.min.replace(tzinfo=UTC)
NO_REVIEW = sa.cast(sa.null(), UTCDateTime).label("review_at")


@dataclass(frozen=True)
class InForce:
    client_id: uuid.UUID
    model: ModelVersion
    segment: Segment
    valid_from: datetime


@dataclass(frozen=True)
class Due:
    current: InForce
    reassess_by: datetime
    basis: str
    overdue_days: int


@dataclass(frozen=True)
class Gap:
    current: InForce
    gaps: Gaps


@dataclass(frozen=True)
class Mine:
    client_id: uuid.UUID
    roles: tuple[str, ...]
    current: InForce | None
    reassess_by: datetime | None
    overdue_days: int | None
    gaps: Gaps


Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    last: Position | None  # the position to continue after, when there is more


def _groups(registry: ModelRegistry) -> list[tuple[ModelVersion, Segment]]:
    return [
        (version, segment)
        for model_id in registry.ids()
        for version in registry.get_versions(model_id)
        for segment in version.segments
    ]


def _in_group(current: Any, model: ModelVersion, segment: Segment) -> sa.ColumnElement[bool]:
    return sa.and_(
        current.c.model_id == model.id,
        current.c.model_version == model.version,
        current.c.decided_code == segment.code,
    )


def _after(columns: Sequence[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    typed = [sa.bindparam(None, v, type_=c.type) for c, v in zip(columns, values, strict=True)]
    return sa.tuple_(*columns) > sa.tuple_(*typed)


def _in_force(registry: ModelRegistry, row: Any) -> InForce | None:
    model = registry.version(row.model_id, row.model_version)
    segment = model.segment_by_code(row.decided_code) if model else None
    if model is None or segment is None:
        return None
    return InForce(row.client_id, model, segment, row.valid_from)


def _overdue(now: datetime, moment: datetime) -> int:
    return math.floor((now - moment) / DAY)


async def _union(unit: Unit, branches: list[sa.Select[Any]]) -> list[Any]:
    if not branches:
        return []
    parts = [sa.select(branch.subquery()) for branch in branches]
    statement = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    return list(await unit.execute(statement))


async def reassessment_due(
    unit: Unit,
    *,
    principal: Principal,
    registry: ModelRegistry,
    within_days: int,
    limit: int,
    after: Position | None,
) -> Page[Due]:
    now = utc_now()
    bound = now + timedelta(days=within_days)
    current = queries.current(principal.org, now)
    branches: list[sa.Select[Any]] = []
    with_interval: list[tuple[ModelVersion, Segment, int]] = [
        (model, segment, segment.reassess_after_days)
        for model, segment in _groups(registry)
        if segment.reassess_after_days is not None
    ]
    for model, segment, days in with_interval:
        interval = timedelta(days=days)
        plan = care_plan.alias()
        earlier_review = sa.exists().where(
            plan.c.client_id == current.c.client_id,
            queries.plan_open(plan, now),
            queries.within_days_of(plan.c.review_at, current.c.valid_from, days, strict=True),
        )
        branch = sa.select(current, NO_REVIEW).where(
            _in_group(current, model, segment),
            current.c.valid_from <= bound - interval,
            ~earlier_review,
        )
        if after is not None and after.key is not None:
            keys = (current.c.valid_from, current.c.client_id)
            branch = branch.where(_after(keys, (after.key - interval, after.client_id)))
        branches.append(branch.order_by(current.c.valid_from, current.c.client_id).limit(limit + 1))
    plan = care_plan.alias()
    other = care_plan.alias()
    earliest = ~sa.exists().where(
        other.c.client_id == plan.c.client_id,
        queries.plan_open(other, now),
        sa.tuple_(other.c.review_at, other.c.id) < sa.tuple_(plan.c.review_at, plan.c.id),
    )
    not_after_policy = sa.or_(
        *[
            sa.and_(
                _in_group(current, model, segment),
                queries.within_days_of(plan.c.review_at, current.c.valid_from, days, strict=False),
            )
            for model, segment, days in with_interval
        ],
        ~sa.or_(sa.false(), *[_in_group(current, m, s) for m, s, _ in with_interval]),
    )
    by_plan = (
        sa.select(current, plan.c.review_at.label("review_at"))
        .join(current, current.c.client_id == plan.c.client_id)
        .where(
            plan.c.tenant == principal.org,
            plan.c.review_at <= bound,
            queries.plan_open(plan, now),
            earliest,
            not_after_policy,
        )
    )
    if after is not None and after.key is not None:
        by_plan = by_plan.where(
            _after((plan.c.review_at, plan.c.client_id), (after.key, after.client_id))
        )
    branches.append(by_plan.order_by(plan.c.review_at, plan.c.client_id).limit(limit + 1))
    found: dict[uuid.UUID, Due] = {}
    for row in await _union(unit, branches):
        in_force = _in_force(registry, row)
        due = in_force and reassess_by(
            in_force.valid_from, in_force.segment.reassess_after_days, row.review_at
        )
        if not in_force or not due:
            continue
        known = found.get(in_force.client_id)
        if known is None or due.at < known.reassess_by:
            found[in_force.client_id] = Due(in_force, due.at, due.basis, _overdue(now, due.at))
    ordered = sorted(found.values(), key=lambda d: (d.reassess_by, d.current.client_id))
    page = ordered[:limit]
    audit.record_many(unit, principal, [d.current.client_id for d in page])
    last = page[-1] if len(ordered) > limit else None
    return Page(page, Position(last.reassess_by, last.current.client_id) if last else None)


async def _holdings(
    unit: Unit, client_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, Holdings]:
    if not client_ids:
        return {}
    rows = await unit.execute(queries.holdings(client_ids, now))
    return {
        row.client_id: Holdings(
            named_contact=bool(row.named_contact),
            team=bool(row.team),
            plan=bool(row.plan),
            plan_review_at=row.plan_review_at,
        )
        for row in rows
    }


async def coordination_gaps(
    unit: Unit, *, principal: Principal, registry: ModelRegistry, limit: int, after: Position | None
) -> Page[Gap]:
    """Clients whose segment in force requires coordination they lack, longest first (by
    when that segment took effect)."""
    now = utc_now()
    current = queries.current(principal.org, now)
    branches = []
    for model, segment in _groups(registry):
        required = [k for k, need in segment.coordination.items() if need == "required"]
        if not required:
            continue
        lacking = sa.or_(*[queries.lacks(kind, current.c.client_id, now) for kind in required])
        branch = sa.select(current, NO_REVIEW).where(_in_group(current, model, segment), lacking)
        if after is not None and after.key is not None:
            keys = (current.c.valid_from, current.c.client_id)
            branch = branch.where(_after(keys, (after.key, after.client_id)))
        branches.append(branch.order_by(current.c.valid_from, current.c.client_id).limit(limit + 1))
    found = [f for f in (_in_force(registry, row) for row in await _union(unit, branches)) if f]
    ordered = sorted(found, key=lambda f: (f.valid_from, f.client_id))
    page = ordered[:limit]
    held = await _holdings(unit, [f.client_id for f in page], now)
    items = [Gap(f, gaps(f.segment.coordination, held[f.client_id])) for f in page]
    # Read in two statements: a gap filled in between is left out of this page, never shown.
    items = [item for item in items if item.gaps.missing]
    audit.record_many(unit, principal, [item.current.client_id for item in items])
    last = page[-1] if len(ordered) > limit else None
    return Page(items, Position(last.valid_from, last.client_id) if last else None)


def _mine_order(item: Mine) -> tuple[bool, datetime, uuid.UUID]:
    return (item.reassess_by is None, item.reassess_by or EARLIEST, item.client_id)


async def mine(
    unit: Unit, *, principal: Principal, registry: ModelRegistry, limit: int, after: Position | None
) -> Page[Mine]:
    """The caller's clients now (as named contact or team member), soonest re-assessment
    first, those without a date last."""
    now = utc_now()
    member = care_team_member
    rows = await unit.execute(
        sa.select(member.c.client_id, member.c.role)
        .where(
            member.c.tenant == principal.org,
            member.c.professional == principal.sub,
            queries.member_in_force(now),
        )
        .distinct()
    )
    roles: dict[uuid.UUID, set[str]] = {}
    for row in rows:
        roles.setdefault(row.client_id, set()).add(row.role)
    client_ids = sorted(roles)
    current = queries.current(principal.org, now, client_ids)
    in_force = {
        f.client_id: f
        for f in (_in_force(registry, row) for row in await unit.execute(sa.select(current)))
        if f
    }
    held = await _holdings(unit, client_ids, now)
    items = []
    for client_id in client_ids:
        found = in_force.get(client_id)
        holdings = held[client_id]
        due = found and reassess_by(
            found.valid_from, found.segment.reassess_after_days, holdings.plan_review_at
        )
        items.append(
            Mine(
                client_id=client_id,
                roles=tuple(sorted(roles[client_id])),
                current=found,
                reassess_by=due.at if due else None,
                overdue_days=_overdue(now, due.at) if due else None,
                gaps=gaps(found.segment.coordination, holdings) if found else Gaps((), ()),
            )
        )
    ordered = sorted(items, key=_mine_order)
    if after is not None:
        position = Mine(after.client_id, (), None, after.key, None, Gaps((), ()))
        ordered = [item for item in ordered if _mine_order(item) > _mine_order(position)]
    page = ordered[:limit]
    audit.record_many(unit, principal, [item.client_id for item in page])
    last = page[-1] if len(ordered) > limit else None
    return Page(page, Position(last.reassess_by, last.client_id) if last else None)
