"""Every table module, imported once so SQLModel.metadata (and Alembic) sees them all."""

from app.assessments.models import Assessment, ConsentEvent, Retraction
from app.audit.models import AccessLogEntry
from app.clients.models import Client
from app.idempotency import IdempotencyRecord

__all__ = [
    "AccessLogEntry",
    "Assessment",
    "Client",
    "ConsentEvent",
    "IdempotencyRecord",
    "Retraction",
]
