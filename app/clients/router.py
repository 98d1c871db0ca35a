"""/v1/clients/lookup: from an identity (in the body, never the URL) to the opaque client id."""

from fastapi import APIRouter

from app.assessments.router import CLIENT_LINKS
from app.clients import service
from app.clients.schemas import ClientIdentity, ClientRef
from app.deps import Protector, ReadUnit, SegmentsReader
from app.errors import WITH_BODY, problem_responses
from app.routing import ServiceRoute

router = APIRouter(
    prefix="/v1/clients",
    tags=["clients"],
    route_class=ServiceRoute,
    responses=problem_responses(*WITH_BODY, 404),
)


@router.post("/lookup", response_model=ClientRef, responses={200: {"links": CLIENT_LINKS}})
async def lookup_client(
    body: ClientIdentity, principal: SegmentsReader, unit: ReadUnit, protector: Protector
) -> ClientRef:
    client_id = await service.lookup(
        unit, protector=protector, principal=principal, identity=body.identity()
    )
    return ClientRef(client_id=client_id)
