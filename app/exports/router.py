"""/v1/exports/segments: decisions for the health register, full or since a cursor."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.deps import ExportsReader, RuntimeDep, WriteUnit
from app.errors import AUTHENTICATED, problem_responses
from app.exports import service
from app.exports.stream import stream
from app.routing import ServiceRoute, access_operation

router = APIRouter(
    prefix="/v1/exports",
    tags=["exports"],
    route_class=ServiceRoute,
    responses=problem_responses(*AUTHENTICATED, 400),
)

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "fhir": "application/fhir+ndjson",
}
CURSOR_HEADER = {
    "Next-Cursor": {
        "description": "Pass it as `since` to get only what changed after this export.",
        "schema": {"type": "string"},
    }
}


@router.get(
    "/segments",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Streamed records; `Next-Cursor` carries the next export's cursor.",
            "headers": CURSOR_HEADER,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "application/fhir+ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
@access_operation("export")
async def export_segments(
    principal: ExportsReader,
    unit: WriteUnit,
    runtime: RuntimeDep,
    format: Annotated[Literal["csv", "ndjson", "fhir"], Query(description="Default: csv.")] = "csv",
    since: Annotated[
        str | None,
        Query(max_length=512, description="The `Next-Cursor` of the previous export."),
    ] = None,
) -> StreamingResponse:
    """The segments that may go to the health register (Apotti numbering 1–4): only with the
    client's consent at the decision and now, only from models with register numbering, and
    within the tenant's roll-out scope. Identity codes only with `identity:read`. With `since`,
    only what changed: new decisions (`active`), and `retracted` and `withdrawn` records for
    what the receiver holds and must now remove."""
    export = await service.begin(
        unit, principal=principal, fmt=format, since=since, cursor_keys=runtime.cursor_keys
    )
    return StreamingResponse(
        stream(runtime.database, export, runtime.protector),
        media_type=MEDIA_TYPES[format],
        headers={"Next-Cursor": export.next_cursor},
    )
