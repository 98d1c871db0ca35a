"""/v1/clients/lookup: from an identity (in the body, never the URL) to the opaque client id."""

from fastapi import APIRouter

from app.clients import service
from app.clients.models import ClientIdentity, ClientRef
from app.db import SessionDep
from app.deps import ProtectorDep, SegmentsReader
from app.errors import WITH_BODY, problem_responses
from app.strict_json import StrictJSONRoute

router = APIRouter(
    prefix="/v1/clients",
    tags=["clients"],
    route_class=StrictJSONRoute,
    responses=problem_responses(*WITH_BODY, 404),
)


@router.post("/lookup", response_model=ClientRef)
def lookup_client(
    body: ClientIdentity,
    principal: SegmentsReader,
    session: SessionDep,
    protector: ProtectorDep,
) -> ClientRef:
    return service.lookup(session, protector, principal, body)
