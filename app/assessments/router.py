"""/v1/assessments, and a client's segment and timeline."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.assessments import service, views
from app.assessments.schemas import (
    AssessmentRequest,
    AssessmentView,
    RetractionRequest,
    SegmentInForce,
    Timeline,
)
from app.care import service as care
from app.db import utc_now
from app.deps import (
    AssessmentsWriter,
    Idempotent,
    Language,
    Protector,
    ReadUnit,
    Registry,
    SegmentsReader,
    WriteUnit,
)
from app.errors import AUTHENTICATED, LOCATION, WITH_BODY, problem_responses
from app.routing import ServiceRoute, access_operation
from app.schemas import Moment

router = APIRouter(
    prefix="/v1",
    tags=["assessments"],
    route_class=ServiceRoute,
    responses=problem_responses(*AUTHENTICATED, 404),
)
WRITE = problem_responses(*WITH_BODY)


CLIENT_LINKS = {
    name: {"operationId": name, "parameters": {"client_id": "$response.body#/client_id"}}
    for name in (
        "get_segment",
        "get_segment_history",
        "list_consents",
        "record_consent",
        "get_access_log",
    )
}
ASSESSMENT_LINKS = {
    name: {"operationId": name, "parameters": {"assessment_id": "$response.body#/assessment_id"}}
    for name in ("get_assessment", "retract_assessment")
}


@router.post(
    "/assessments",
    status_code=201,
    response_model=AssessmentView,
    responses={**WRITE, 201: {"headers": LOCATION, "links": {**CLIENT_LINKS, **ASSESSMENT_LINKS}}},
    dependencies=[Idempotent],
)
@access_operation("submit_assessment")
async def submit_assessment(
    body: AssessmentRequest,
    principal: AssessmentsWriter,
    unit: WriteUnit,
    registry: Registry,
    protector: Protector,
    lang: Language,
    response: Response,
) -> AssessmentView:
    """Record an assessment: the suggestion, the professional's decision and its explanation."""
    record = await service.submit(
        unit, principal=principal, registry=registry, protector=protector, body=body
    )
    response.headers["Location"] = f"/v1/assessments/{record.assessment.id}"
    return views.assessment(registry, record, lang)


@router.get("/assessments/{assessment_id}", response_model=AssessmentView)
@access_operation("read_assessment")
async def get_assessment(
    assessment_id: uuid.UUID,
    principal: SegmentsReader,
    unit: ReadUnit,
    registry: Registry,
    lang: Language,
) -> AssessmentView:
    record = await service.read(unit, principal=principal, assessment_id=assessment_id)
    return views.assessment(registry, record, lang)


@router.post(
    "/assessments/{assessment_id}/retraction",
    status_code=201,
    response_model=AssessmentView,
    responses={**WRITE, **problem_responses(409), 201: {"headers": LOCATION}},
    dependencies=[Idempotent],
)
@access_operation("retract_assessment")
async def retract_assessment(
    assessment_id: uuid.UUID,
    body: RetractionRequest,
    principal: AssessmentsWriter,
    unit: WriteUnit,
    registry: Registry,
    lang: Language,
    response: Response,
) -> AssessmentView:
    """Mark an assessment as entered in error. Nothing is deleted; the client's segment falls
    back to the latest active assessment."""
    record = await service.retract(
        unit, principal=principal, assessment_id=assessment_id, body=body
    )
    response.headers["Location"] = f"/v1/assessments/{assessment_id}"
    return views.assessment(registry, record, lang)


@router.get("/clients/{client_id}/segment", response_model=SegmentInForce)
@access_operation("read_segment")
async def get_segment(
    client_id: uuid.UUID,
    principal: SegmentsReader,
    unit: ReadUnit,
    registry: Registry,
    lang: Language,
    at: Annotated[Moment | None, Query(description="Default: now.")] = None,
) -> SegmentInForce:
    """The segment in force, what it means for the service, what coordination it requires
    and the client lacks, and the consent state now."""
    moment = at or utc_now()
    record, holdings = await care.segment_in_force(
        unit, principal=principal, client_id=client_id, at=moment
    )
    return views.segment_in_force(registry, record, holdings, moment, lang)


@router.get("/clients/{client_id}/segment-history", response_model=Timeline)
@access_operation("read_segment_history")
async def get_segment_history(
    client_id: uuid.UUID,
    principal: SegmentsReader,
    unit: ReadUnit,
    registry: Registry,
    lang: Language,
) -> Timeline:
    history = await service.history(unit, principal=principal, client_id=client_id)
    return views.timeline(registry, history, lang)
