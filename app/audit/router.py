"""/v1/clients/{id}/access-log: who accessed a client's data (Act 703/2023, § 11 requests)."""

import uuid

from fastapi import APIRouter

from app.audit import service
from app.audit.schemas import AccessLog, AccessLogItem
from app.clients import service as clients
from app.deps import AuditReader, ReadUnit
from app.errors import AUTHENTICATED, problem_responses
from app.routing import ServiceRoute, access_operation

router = APIRouter(
    prefix="/v1/clients",
    tags=["audit"],
    route_class=ServiceRoute,
    responses=problem_responses(*AUTHENTICATED, 404),
)


@router.get("/{client_id}/access-log", response_model=AccessLog)
@access_operation("read_access_log")
async def get_access_log(client_id: uuid.UUID, principal: AuditReader, unit: ReadUnit) -> AccessLog:
    """Newest first."""
    await clients.require(unit, principal, client_id)
    entries = await service.client_log(unit, principal, client_id)
    return AccessLog(items=[AccessLogItem.model_validate(e, from_attributes=True) for e in entries])
