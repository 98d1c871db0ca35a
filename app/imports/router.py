"""/v1/imports/segments: historical register entries, as NDJSON."""

from fastapi import APIRouter, Request

from app.deps import ImportsWriter, Protector, WriteUnit
from app.errors import AUTHENTICATED, WITH_BODY, problem_responses
from app.imports import service
from app.imports.schemas import ImportResult
from app.routing import ServiceRoute, access_operation, raw_body

router = APIRouter(
    prefix="/v1/imports",
    tags=["imports"],
    route_class=ServiceRoute,
    responses=problem_responses(*AUTHENTICATED, *WITH_BODY),
)
IMPORT_PATH = "/v1/imports/segments"
NDJSON = "application/x-ndjson"


@router.post(
    "/segments",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One historical decision per line (an ImportLine).",
            "content": {NDJSON: {"schema": {"$ref": "#/components/schemas/ImportLine"}}},
        }
    },
)
@access_operation("import_segments")
@raw_body(NDJSON, "application/ndjson")
async def import_segments(
    request: Request, principal: ImportsWriter, unit: WriteUnit, protector: Protector
) -> ImportResult:
    """Bring in historical segment decisions, e.g. the health register's existing entries.
    All or nothing: any bad line is a 422 naming each line and field, and nothing is
    written. Importing the same lines again writes nothing (so a retry needs no
    Idempotency-Key). Imported decisions join each client's timeline in `effective_at`
    order, marked `source: import`, and are exported like any other."""
    written, lines = await service.run(
        unit, principal=principal, protector=protector, body=request.stream()
    )
    return ImportResult(imported=written, lines=lines)
