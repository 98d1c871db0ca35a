"""Every table module, imported once so SQLModel.metadata (and Alembic) sees them all."""

from app.assessments.models import Assessment, Retraction, SegmentNow
from app.audit.models import AccessLogEntry
from app.care.models import CarePlan, CareTeamEnd, CareTeamMember
from app.clients.models import Client
from app.consents.models import ConsentEvent
from app.exports.models import ExportRun
from app.idempotency.models import IdempotencyRecord
from app.keyring.models import KeyCheck

__all__ = [
    "AccessLogEntry",
    "Assessment",
    "CarePlan",
    "CareTeamEnd",
    "CareTeamMember",
    "Client",
    "ConsentEvent",
    "ExportRun",
    "IdempotencyRecord",
    "KeyCheck",
    "Retraction",
    "SegmentNow",
]
