"""Care teams and plans: recording them, reading them as of a moment, and what a client has.

Each write is one statement set in the request's transaction, under the client's row lock, so
two professionals ending the same membership cannot both succeed (the end row is unique per
membership as well). Nothing is updated or deleted: an end is a row, a revised plan is a row.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from app.assessments.service import IN_FORCE, InForce, SegmentRecord
from app.audit import service as audit
from app.audit.models import access_log
from app.auth import Principal
from app.care import queries
from app.care.models import CarePlan, CareTeamEnd, CareTeamMember
from app.care.models import care_plan as plan_table
from app.care.models import care_team_end as end_table
from app.care.models import care_team_member as member_table
from app.care.schemas import CareTeamEndRequest, CareTeamRequest, PlanRequest
from app.clients import service as clients
from app.consents.schemas import ConsentState
from app.db import Unit, utc_now
from app.errors import AccessAttempt, Conflict, NotFound, invalid
from app.segmentation.coordination import Holdings, review_moment


@dataclass(frozen=True)
class Membership:
    member: CareTeamMember
    end: CareTeamEnd | None


@dataclass(frozen=True)
class PlanRecord:
    plan: CarePlan
    open: bool


def _not_future(field: str, moment: datetime, now: datetime) -> datetime:
    if moment > now:
        raise invalid(field, "must not be in the future")
    return moment.astimezone(UTC)


async def add_member(
    unit: Unit, *, principal: Principal, client_id: uuid.UUID, body: CareTeamRequest
) -> Membership:
    now = utc_now()
    valid_from = _not_future("from", body.valid_from, now)
    await clients.require(unit, principal, client_id)
    await clients.lock(unit, client_id)
    still_open = (
        await unit.execute(
            sa.select(member_table.c.id).where(
                member_table.c.client_id == client_id,
                member_table.c.professional == body.professional,
                member_table.c.role == body.role,
                ~sa.exists().where(end_table.c.member_id == member_table.c.id),
            )
        )
    ).first()
    if still_open is not None:
        raise Conflict(
            f"This professional is already in this role for the client (member "
            f"{still_open.id}); end that membership first."
        )
    member = CareTeamMember(
        tenant=principal.org,
        client_id=client_id,
        professional=body.professional,
        role=body.role,
        title=body.title,
        valid_from=valid_from,
        recorded_at=now,
        recorded_by=principal.sub,
    )
    await unit.execute(sa.insert(member_table).values(member.model_dump()))
    audit.record(unit, principal, client_id=client_id)
    return Membership(member, None)


async def end_member(
    unit: Unit,
    *,
    principal: Principal,
    client_id: uuid.UUID,
    member_id: uuid.UUID,
    body: CareTeamEndRequest,
) -> Membership:
    """End a membership; ending twice, or before it began, is refused."""
    now = utc_now()
    at = _not_future("at", body.at, now)
    await clients.require(unit, principal, client_id)
    await clients.lock(unit, client_id)
    row = (
        await unit.execute(
            sa.select(member_table).where(
                member_table.c.id == member_id, member_table.c.client_id == client_id
            )
        )
    ).first()
    if row is None:
        raise NotFound(
            "This client's care team has no such member.",
            attempt=AccessAttempt(client_id, "not_found"),
        )
    member = CareTeamMember(**row._mapping)
    if await _end_of(unit, member_id) is not None:
        raise Conflict("This membership has already ended.")
    if at < member.valid_from:
        raise invalid("at", "must not be before the membership's `from`")
    end = CareTeamEnd(
        tenant=principal.org, member_id=member_id, at=at, recorded_at=now, recorded_by=principal.sub
    )
    await unit.execute(sa.insert(end_table).values(end.model_dump()))
    audit.record(unit, principal, client_id=client_id)
    return Membership(member, end)


async def _end_of(unit: Unit, member_id: uuid.UUID) -> CareTeamEnd | None:
    row = (
        await unit.execute(sa.select(end_table).where(end_table.c.member_id == member_id))
    ).first()
    return CareTeamEnd(**row._mapping) if row else None


async def team_at(
    unit: Unit, *, principal: Principal, client_id: uuid.UUID, at: datetime
) -> list[Membership]:
    """The members in force at `at`: begun by then and not ended by then; oldest first."""
    await clients.require(unit, principal, client_id)
    rows = await unit.execute(
        sa.select(member_table, end_table.c.id.label("end_id"))
        .outerjoin(end_table, end_table.c.member_id == member_table.c.id)
        .where(member_table.c.client_id == client_id, queries.member_in_force(at))
        .order_by(member_table.c.valid_from, member_table.c.id)
    )
    members = [
        CareTeamMember(**{c.name: row._mapping[c.name] for c in member_table.columns})
        for row in rows
    ]
    ends = {
        end.member_id: end
        for end in (
            CareTeamEnd(**row._mapping)
            for row in await unit.execute(
                sa.select(end_table).where(end_table.c.member_id.in_([m.id for m in members]))
            )
        )
    }
    audit.record(unit, principal, client_id=client_id)
    return [Membership(m, ends.get(m.id)) for m in members]


async def add_plan(
    unit: Unit, *, principal: Principal, client_id: uuid.UUID, body: PlanRequest
) -> PlanRecord:
    now = utc_now()
    made_at = _not_future("made_at", body.made_at, now)
    if review_moment(body.review_by) < review_moment(made_at.date()):
        raise invalid("review_by", "must not be before the day the plan was made")
    await clients.require(unit, principal, client_id)
    await clients.lock(unit, client_id)
    plan = CarePlan(
        tenant=principal.org,
        client_id=client_id,
        kind=body.kind,
        made_at=made_at,
        review_by=body.review_by,
        review_at=review_moment(body.review_by),
        recorded_at=now,
        recorded_by=principal.sub,
    )
    await unit.execute(sa.insert(plan_table).values(plan.model_dump()))
    audit.record(unit, principal, client_id=client_id)
    plans = await _plans_of(unit, client_id)
    return next(p for p in plans if p.plan.id == plan.id)


async def _plans_of(unit: Unit, client_id: uuid.UUID) -> list[PlanRecord]:
    rows = await unit.execute(
        sa.select(plan_table)
        .where(plan_table.c.client_id == client_id)
        .order_by(plan_table.c.made_at, plan_table.c.recorded_at, plan_table.c.id)
    )
    plans = [CarePlan(**row._mapping) for row in rows]
    newest = {p.kind: p.id for p in plans}  # the last of each kind in made order
    return [PlanRecord(p, newest[p.kind] == p.id) for p in plans]


async def plans(unit: Unit, *, principal: Principal, client_id: uuid.UUID) -> list[PlanRecord]:
    await clients.require(unit, principal, client_id)
    found = await _plans_of(unit, client_id)
    audit.record(unit, principal, client_id=client_id)
    return found


async def segment_in_force(
    unit: Unit, *, principal: Principal, client_id: uuid.UUID, at: datetime
) -> tuple[SegmentRecord, Holdings]:
    """The segment in force at `at`, the coordination the client has then, and the consent
    now — read, with its access-log line, by one statement (queries.segment_read)."""
    log = audit.entry(principal, client_id=client_id)
    parameters = {
        "client_id": client_id,
        "tenant": principal.org,
        "at": at,
        "now": log["at"],
        **{f"log_{name}": value for name, value in log.items()},
    }
    rows = await unit.fetch_alone(queries.segment_read(unit.dialect), parameters)
    row = rows[0] if rows else None
    if row is None or row["owner"] != principal.org:
        owner = row["owner"] if row else None
        raise NotFound("No such client.", attempt=AccessAttempt(client_id, "not_found", owner))
    if row["id"] is None:
        raise NotFound(
            "This client has no segment in force at that time.",
            attempt=AccessAttempt(client_id, "no_segment"),
        )
    if unit.dialect == "postgresql":
        assert row["logged"] == 1, "the read's access-log row was not written"
    else:
        unit.defer(access_log, log)
    record = SegmentRecord(
        InForce(*(row[name] for name in IN_FORCE)),
        ConsentState(health_register=row["consent_given"], since=row["consent_since"]),
    )
    holdings = Holdings(
        named_contact=bool(row["named_contact"]),
        team=bool(row["team"]),
        plan=bool(row["plan"]),
        plan_review_at=row["plan_review_at"],
    )
    return record, holdings
