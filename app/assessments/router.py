"""/v1/assessments and a client's segment, timeline and consents."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.assessments import consents, segments, service
from app.assessments.schemas import (
    AssessmentRequest,
    AssessmentView,
    ConsentEvents,
    ConsentEventView,
    ConsentRequest,
    RetractionRequest,
    SegmentInForce,
    Timeline,
)
from app.db import SessionDep
from app.deps import AssessmentsWriter, ConsentsWriter, Language, ProtectorDep, SegmentsReader
from app.errors import AUTHENTICATED, WITH_BODY, problem_responses
from app.idempotency import IdempotencyDep
from app.schemas import Moment
from app.segmentation.service import RegistryDep
from app.strict_json import StrictJSONRoute

router = APIRouter(
    prefix="/v1",
    tags=["assessments"],
    route_class=StrictJSONRoute,
    responses=problem_responses(*AUTHENTICATED, 404),
)
WRITE = problem_responses(*WITH_BODY)


def _created(response: Response, replayed: bool, location: str) -> None:
    response.headers["Location"] = location
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"


@router.post("/assessments", status_code=201, response_model=AssessmentView, responses=WRITE)
def submit_assessment(
    body: AssessmentRequest,
    principal: AssessmentsWriter,
    session: SessionDep,
    registry: RegistryDep,
    protector: ProtectorDep,
    lang: Language,
    response: Response,
    idempotency: IdempotencyDep,
) -> AssessmentView:
    """Record an assessment: the suggestion, the professional's decision and its explanation."""
    result, replayed = service.submit(
        session,
        principal=principal,
        registry=registry,
        protector=protector,
        body=body,
        lang=lang,
        idempotency=idempotency,
    )
    _created(response, replayed, f"/v1/assessments/{result.assessment_id}")
    return result


@router.get("/assessments/{assessment_id}", response_model=AssessmentView)
def get_assessment(
    assessment_id: uuid.UUID,
    principal: SegmentsReader,
    session: SessionDep,
    registry: RegistryDep,
    lang: Language,
) -> AssessmentView:
    return service.get(
        session, principal=principal, registry=registry, assessment_id=assessment_id, lang=lang
    )


@router.post(
    "/assessments/{assessment_id}/retraction",
    status_code=201,
    response_model=AssessmentView,
    responses={**WRITE, **problem_responses(409)},
)
def retract_assessment(
    assessment_id: uuid.UUID,
    body: RetractionRequest,
    principal: AssessmentsWriter,
    session: SessionDep,
    registry: RegistryDep,
    lang: Language,
    response: Response,
    idempotency: IdempotencyDep,
) -> AssessmentView:
    """Mark an assessment as entered in error. Nothing is deleted; the client's segment falls
    back to the latest active assessment."""
    result, replayed = service.retract(
        session,
        principal=principal,
        registry=registry,
        assessment_id=assessment_id,
        body=body,
        lang=lang,
        idempotency=idempotency,
    )
    _created(response, replayed, f"/v1/assessments/{assessment_id}")
    return result


@router.get("/clients/{client_id}/segment", response_model=SegmentInForce)
def get_segment(
    client_id: uuid.UUID,
    principal: SegmentsReader,
    session: SessionDep,
    registry: RegistryDep,
    lang: Language,
    at: Annotated[Moment | None, Query(description="Default: now.")] = None,
) -> SegmentInForce:
    """The segment in force, what it means for the service, and the consent state now."""
    return segments.segment_in_force(
        session, principal=principal, registry=registry, client_id=client_id, at=at, lang=lang
    )


@router.get("/clients/{client_id}/segment-history", response_model=Timeline)
def get_segment_history(
    client_id: uuid.UUID,
    principal: SegmentsReader,
    session: SessionDep,
    registry: RegistryDep,
    lang: Language,
) -> Timeline:
    return segments.history(
        session, principal=principal, registry=registry, client_id=client_id, lang=lang
    )


@router.post(
    "/clients/{client_id}/consents",
    status_code=201,
    response_model=ConsentEventView,
    responses=WRITE,
)
def record_consent(
    client_id: uuid.UUID,
    body: ConsentRequest,
    principal: ConsentsWriter,
    session: SessionDep,
    response: Response,
    idempotency: IdempotencyDep,
) -> ConsentEventView:
    """Consent given (`given: true`) or withdrawn (`given: false`) for the health register."""
    result, replayed = consents.record(
        session,
        principal=principal,
        client_id=client_id,
        body=body,
        idempotency=idempotency,
    )
    _created(response, replayed, f"/v1/clients/{client_id}/consents")
    return result


@router.get("/clients/{client_id}/consents", response_model=ConsentEvents)
def list_consents(
    client_id: uuid.UUID,
    principal: SegmentsReader,
    session: SessionDep,
) -> ConsentEvents:
    return consents.list_events(session, principal=principal, client_id=client_id)
