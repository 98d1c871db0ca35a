"""Annotated dependencies shared by the routers, so route signatures stay short."""

from typing import Annotated

from fastapi import Depends, Request

from app.auth import Principal, require_scope
from app.clients.identity import IdentityProtector
from app.language import language

Language = Annotated[str, Depends(language)]


def _protector(request: Request) -> IdentityProtector:
    protector: IdentityProtector = request.app.state.protector
    return protector


ProtectorDep = Annotated[IdentityProtector, Depends(_protector)]

AssessmentsWriter = Annotated[Principal, Depends(require_scope("assessments:write"))]
SegmentsReader = Annotated[Principal, Depends(require_scope("segments:read"))]
ConsentsWriter = Annotated[Principal, Depends(require_scope("consents:write"))]
AuditReader = Annotated[Principal, Depends(require_scope("audit:read"))]
