"""/v1/clients/{id}/access-log: who accessed a client's data (Act 703/2023, § 11 requests)."""

import uuid

from fastapi import APIRouter

from app.audit import service
from app.audit.models import AccessLog
from app.clients import service as clients
from app.db import SessionDep
from app.deps import AuditReader
from app.errors import AUTHENTICATED, problem_responses

router = APIRouter(
    prefix="/v1/clients", tags=["audit"], responses=problem_responses(*AUTHENTICATED, 404)
)


@router.get("/{client_id}/access-log", response_model=AccessLog)
def get_access_log(client_id: uuid.UUID, principal: AuditReader, session: SessionDep) -> AccessLog:
    """Newest first."""
    clients.get(session, principal, client_id, "read_access_log")
    return service.read_client_log(session, principal, client_id)
