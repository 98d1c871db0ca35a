"""Every Annotated dependency the routers use, in one place, so route signatures stay short."""

from typing import Annotated

from fastapi import Depends, Request

from app.auth import Principal, require_scope
from app.clients.identity import IdentityProtector
from app.db import Unit
from app.language import language
from app.routing import idempotency_key, open_unit
from app.runtime import Runtime, runtime_of
from app.segmentation.registry import ModelRegistry


async def _write_unit(request: Request) -> Unit:
    return await open_unit(request, read_only=False)


async def _read_unit(request: Request) -> Unit:
    return await open_unit(request, read_only=True)


async def _protector(request: Request) -> IdentityProtector:
    return runtime_of(request).protector


async def _registry(request: Request) -> ModelRegistry:
    """The caller's tenant's models, in the tenant's own wording."""
    principal: Principal = request.state.principal
    return principal.tenant.registry


# A write that takes `Idempotency-Key`: `@router.post(..., dependencies=[Idempotent])`.
Idempotent = Depends(idempotency_key)
WriteUnit = Annotated[Unit, Depends(_write_unit)]
ReadUnit = Annotated[Unit, Depends(_read_unit)]


async def _language(request: Request, negotiated: Annotated[str, Depends(language)]) -> str:
    """The response's language, which the request's owner names in `Content-Language`."""
    request.state.language = negotiated
    return negotiated


Language = Annotated[str, Depends(_language)]
Protector = Annotated[IdentityProtector, Depends(_protector)]
Registry = Annotated[ModelRegistry, Depends(_registry)]

AssessmentsWriter = Annotated[Principal, Depends(require_scope("assessments:write"))]
SegmentsReader = Annotated[Principal, Depends(require_scope("segments:read"))]
ModelsReader = SegmentsReader
ConsentsWriter = Annotated[Principal, Depends(require_scope("consents:write"))]
AuditReader = Annotated[Principal, Depends(require_scope("audit:read"))]
ExportsReader = Annotated[Principal, Depends(require_scope("exports:read"))]
ImportsWriter = Annotated[Principal, Depends(require_scope("imports:write"))]
CareWriter = Annotated[Principal, Depends(require_scope("care:write"))]
WorklistsReader = Annotated[Principal, Depends(require_scope("worklists:read"))]
AnalyticsReader = Annotated[Principal, Depends(require_scope("analytics:read"))]


async def _runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
