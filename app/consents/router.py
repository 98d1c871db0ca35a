"""/v1/clients/{id}/consents: consent to the health register, given and withdrawn."""

import uuid

from fastapi import APIRouter, Response

from app.consents import service
from app.consents.models import ConsentEvent
from app.consents.schemas import ConsentEvents, ConsentEventView, ConsentRequest
from app.deps import ConsentsWriter, Idempotent, ReadUnit, SegmentsReader, WriteUnit
from app.errors import AUTHENTICATED, LOCATION, WITH_BODY, problem_responses
from app.routing import ServiceRoute, access_operation

router = APIRouter(
    prefix="/v1/clients",
    tags=["assessments"],
    route_class=ServiceRoute,
    responses=problem_responses(*AUTHENTICATED, 404),
)


def _view(event: ConsentEvent) -> ConsentEventView:
    return ConsentEventView(
        consent_id=event.id,
        client_id=event.client_id,
        register_name=event.register_name,
        given=event.given,
        at=event.at,
        recorded_at=event.recorded_at,
        recorded_by=event.recorded_by,
        source=event.source,
        assessment_id=event.assessment_id,
    )


@router.post(
    "/{client_id}/consents",
    status_code=201,
    response_model=ConsentEventView,
    responses={**problem_responses(*WITH_BODY), 201: {"headers": LOCATION}},
    dependencies=[Idempotent],
)
@access_operation("record_consent")
async def record_consent(
    client_id: uuid.UUID,
    body: ConsentRequest,
    principal: ConsentsWriter,
    unit: WriteUnit,
    response: Response,
) -> ConsentEventView:
    """Consent given (`given: true`) or withdrawn (`given: false`) for the health register."""
    event = await service.record(unit, principal=principal, client_id=client_id, body=body)
    response.headers["Location"] = f"/v1/clients/{client_id}/consents"
    return _view(event)


@router.get("/{client_id}/consents", response_model=ConsentEvents)
@access_operation("read_consents")
async def list_consents(
    client_id: uuid.UUID, principal: SegmentsReader, unit: ReadUnit
) -> ConsentEvents:
    events = await service.list_events(unit, principal=principal, client_id=client_id)
    return ConsentEvents(items=[_view(e) for e in events])
