"""/v1/clients/{id}/care-team and /plans, and /v1/worklists."""

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.care import cursor, service, views, worklists
from app.care.schemas import (
    CareTeam,
    CareTeamEndRequest,
    CareTeamMemberView,
    CareTeamRequest,
    GapWorklist,
    MineWorklist,
    PlanRequest,
    Plans,
    PlanView,
    ReassessmentWorklist,
)
from app.db import utc_now
from app.deps import (
    CareWriter,
    Idempotent,
    Language,
    ReadUnit,
    Registry,
    RuntimeDep,
    SegmentsReader,
    WorklistsReader,
    WriteUnit,
)
from app.errors import AUTHENTICATED, LOCATION, WITH_BODY, BadCursor, FieldError, problem_responses
from app.routing import ServiceRoute, access_operation
from app.schemas import Moment

router = APIRouter(
    tags=["care"],
    route_class=ServiceRoute,
    responses=problem_responses(*AUTHENTICATED),
)
WRITE = {**problem_responses(*WITH_BODY, 404), 201: {"headers": LOCATION}}
LIST = problem_responses(400)

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
After = Annotated[str | None, Query(max_length=512, description="The previous page's `next`.")]


@router.post(
    "/v1/clients/{client_id}/care-team",
    status_code=201,
    response_model=CareTeamMemberView,
    responses=WRITE,
    dependencies=[Idempotent],
)
@access_operation("add_care_team_member")
async def add_care_team_member(
    client_id: uuid.UUID,
    body: CareTeamRequest,
    principal: CareWriter,
    unit: WriteUnit,
    response: Response,
) -> CareTeamMemberView:
    """Name a contact (omatyöntekijä / hoitovastaava) or a team member (omatiimi) from `from`."""
    membership = await service.add_member(unit, principal=principal, client_id=client_id, body=body)
    response.headers["Location"] = f"/v1/clients/{client_id}/care-team"
    return views.member(membership)


@router.post(
    "/v1/clients/{client_id}/care-team/{member_id}/end",
    status_code=201,
    response_model=CareTeamMemberView,
    responses={**WRITE, **problem_responses(409)},
    dependencies=[Idempotent],
)
@access_operation("end_care_team_member")
async def end_care_team_member(
    client_id: uuid.UUID,
    member_id: uuid.UUID,
    body: CareTeamEndRequest,
    principal: CareWriter,
    unit: WriteUnit,
    response: Response,
) -> CareTeamMemberView:
    """End a membership at `at`; the membership and its end are both kept."""
    membership = await service.end_member(
        unit, principal=principal, client_id=client_id, member_id=member_id, body=body
    )
    response.headers["Location"] = f"/v1/clients/{client_id}/care-team"
    return views.member(membership)


@router.get(
    "/v1/clients/{client_id}/care-team",
    response_model=CareTeam,
    responses=problem_responses(404),
)
@access_operation("read_care_team")
async def get_care_team(
    client_id: uuid.UUID,
    principal: SegmentsReader,
    unit: ReadUnit,
    at: Annotated[Moment | None, Query(description="Default: now.")] = None,
) -> CareTeam:
    """The named contacts and team members in force at `at`."""
    moment = at or utc_now()
    team = await service.team_at(unit, principal=principal, client_id=client_id, at=moment)
    return CareTeam(client_id=client_id, at=moment, items=[views.member(m) for m in team])


@router.post(
    "/v1/clients/{client_id}/plans",
    status_code=201,
    response_model=PlanView,
    responses=WRITE,
    dependencies=[Idempotent],
)
@access_operation("record_plan")
async def record_plan(
    client_id: uuid.UUID,
    body: PlanRequest,
    principal: CareWriter,
    unit: WriteUnit,
    response: Response,
) -> PlanView:
    """That a plan was made and when it is reviewed; its content stays in the patient record.
    A newer plan of the same kind replaces the older; the earliest review of the open plans
    brings the client's re-assessment date forward."""
    record = await service.add_plan(unit, principal=principal, client_id=client_id, body=body)
    response.headers["Location"] = f"/v1/clients/{client_id}/plans"
    return views.plan(record)


@router.get("/v1/clients/{client_id}/plans", response_model=Plans, responses=problem_responses(404))
@access_operation("list_plans")
async def list_plans(client_id: uuid.UUID, principal: SegmentsReader, unit: ReadUnit) -> Plans:
    records = await service.plans(unit, principal=principal, client_id=client_id)
    return Plans(items=[views.plan(r) for r in records])


def _position(
    after: str | None, tenant: str, worklist: str, keys: Sequence[bytes]
) -> cursor.Position | None:
    if after is None:
        return None
    try:
        return cursor.decode(after, tenant=tenant, worklist=worklist, keys=keys)
    except cursor.BadCursor as exc:
        raise BadCursor(
            f"The cursor cannot be used: {exc}.", [FieldError("after", str(exc))]
        ) from None


def _next(
    last: cursor.Position | None, tenant: str, worklist: str, keys: Sequence[bytes]
) -> str | None:
    if last is None:
        return None
    return cursor.encode(last, tenant=tenant, worklist=worklist, key=keys[0])


@router.get("/v1/worklists/reassessment-due", response_model=ReassessmentWorklist, responses=LIST)
@access_operation("worklist")
async def reassessment_due(
    principal: WorklistsReader,
    unit: ReadUnit,
    registry: Registry,
    runtime: RuntimeDep,
    lang: Language,
    within_days: Annotated[
        int, Query(ge=0, le=3650, description="Also what falls due within this many days.")
    ] = 0,
    limit: Limit = 50,
    after: After = None,
) -> ReassessmentWorklist:
    """Clients whose segment in force is due for re-assessment, most overdue first."""
    keys, name = runtime.cursor_keys, "reassessment-due"
    page = await worklists.reassessment_due(
        unit,
        principal=principal,
        registry=registry,
        within_days=within_days,
        limit=limit,
        after=_position(after, principal.org, name, keys),
    )
    return ReassessmentWorklist(
        items=[views.due(item, lang) for item in page.items],
        next=_next(page.last, principal.org, name, keys),
    )


@router.get("/v1/worklists/coordination-gaps", response_model=GapWorklist, responses=LIST)
@access_operation("worklist")
async def coordination_gaps(
    principal: WorklistsReader,
    unit: ReadUnit,
    registry: Registry,
    runtime: RuntimeDep,
    lang: Language,
    limit: Limit = 50,
    after: After = None,
) -> GapWorklist:
    """Clients whose segment in force requires a named contact, a team or a plan they lack,
    longest first; `advised` names what the segment usually asks and they lack too."""
    keys, name = runtime.cursor_keys, "coordination-gaps"
    page = await worklists.coordination_gaps(
        unit,
        principal=principal,
        registry=registry,
        limit=limit,
        after=_position(after, principal.org, name, keys),
    )
    return GapWorklist(
        items=[views.gap(item, lang) for item in page.items],
        next=_next(page.last, principal.org, name, keys),
    )


@router.get("/v1/worklists/mine", response_model=MineWorklist, responses=LIST)
@access_operation("worklist")
async def my_worklist(
    principal: WorklistsReader,
    unit: ReadUnit,
    registry: Registry,
    runtime: RuntimeDep,
    lang: Language,
    limit: Limit = 50,
    after: After = None,
) -> MineWorklist:
    """The caller's own clients (named contact or team member now): segment, re-assessment
    date and what they still lack; soonest re-assessment first."""
    keys, name = runtime.cursor_keys, "mine"
    page = await worklists.mine(
        unit,
        principal=principal,
        registry=registry,
        limit=limit,
        after=_position(after, principal.org, name, keys),
    )
    return MineWorklist(
        items=[views.mine(item, lang) for item in page.items],
        next=_next(page.last, principal.org, name, keys),
    )
