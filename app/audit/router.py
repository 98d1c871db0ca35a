"""/v1/clients/{id}/access-log: who accessed a client's data (Act 703/2023, § 11 requests)."""

import base64
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AccessLog, AccessLogItem
from app.clients import service as clients
from app.deps import AuditReader, ReadUnit
from app.errors import AUTHENTICATED, invalid, problem_responses
from app.exports import disclosures
from app.routing import ServiceRoute, access_operation

router = APIRouter(
    prefix="/v1/clients",
    tags=["audit"],
    route_class=ServiceRoute,
    responses=problem_responses(*AUTHENTICATED, 404),
)

Position = tuple[datetime, uuid.UUID]


def _position(before: str) -> Position:
    """A `next` read back: a moment with its time zone (the log's are UTC; a moment without one
    could not be ordered against them) and an entry id."""
    try:
        at, _, entry = base64.urlsafe_b64decode(before.encode()).decode().partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("no time zone")
        return moment.astimezone(UTC), uuid.UUID(entry)
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise invalid("before", "not a `next` this service gave") from None


def _token(position: Position) -> str:
    at, entry = position
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{entry}".encode()).decode()


@router.get("/{client_id}/access-log", response_model=AccessLog)
@access_operation("read_access_log")
async def get_access_log(
    client_id: uuid.UUID,
    principal: AuditReader,
    unit: ReadUnit,
    limit: Annotated[int, Query(ge=1, le=1000, description="Entries per page.")] = 1000,
    before: Annotated[
        str | None, Query(max_length=200, description="The previous page's `next`.")
    ] = None,
) -> AccessLog:
    """Newest first, with every export that disclosed the client."""
    bound = _position(before) if before is not None else None
    await clients.require(unit, principal, client_id)
    entries: list[tuple[Position, AccessLogItem]] = [
        ((e.at, e.id), AccessLogItem.model_validate(e, from_attributes=True))
        for e in await service.client_log(unit, principal, client_id, limit=limit + 1, before=bound)
    ]
    for run in await disclosures.exports_of(unit, principal.org, client_id):
        if bound is None or (run.at, run.id) < bound:
            item = AccessLogItem(
                at=run.at, actor=run.actor, operation="export", purpose=run.purpose, outcome="ok"
            )
            entries.append(((run.at, run.id), item))
    entries.sort(key=lambda entry: entry[0], reverse=True)
    page = entries[:limit]
    return AccessLog(
        items=[item for _, item in page],
        next=_token(page[-1][0]) if len(entries) > limit else None,
    )
