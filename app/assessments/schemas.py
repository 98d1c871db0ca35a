"""Request and response bodies of assessments and the segment timeline."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from app.catalog.schemas import (
    ClassifyRequest,
    CoordinationStatus,
    GroupRef,
    Implication,
    SegmentRef,
)
from app.clients.schemas import ClientIdentity
from app.consents.schemas import ConsentState
from app.schemas import FreeText, RequestBody, no_blank

Status = Literal["active", "retracted"]


class AssessmentRequest(ClassifyRequest):
    client: ClientIdentity
    discussed_with_client: bool | None = Field(
        default=None,
        description="Whether the segment was assessed together with the client, who sets the "
        "goals (Helsinki's material); null when not recorded.",
    )


class RetractionInfo(BaseModel):
    reason: str
    retracted_at: datetime
    retracted_by: str


class AssessmentView(BaseModel):
    assessment_id: uuid.UUID
    client_id: uuid.UUID
    model: str
    model_version: str
    suggested_segment: SegmentRef | None = Field(
        description="null for an imported decision, which was not classified here."
    )
    segment: SegmentRef
    overridden: bool
    override_reason: str | None
    explanation: list[str]
    warnings: list[str]
    attention: bool | None
    details: dict[str, Any]
    answers: dict[str, Any]
    effective_at: datetime
    recorded_at: datetime
    recorded_by: str
    discussed_with_client: bool | None
    consent: ConsentState
    status: Status
    source: Literal["assessment", "import"]
    retraction: RetractionInfo | None


class RetractionRequest(RequestBody):
    reason: FreeText = Field(min_length=1, max_length=2000)

    _reason = field_validator("reason")(no_blank)


class RegisterStatus(BaseModel):
    recordable: bool = Field(
        description="The model has register numbering and the client's consent is in force."
    )
    reason: str


class SegmentInForce(SegmentRef):
    model: str
    model_version: str
    group: GroupRef
    since: datetime
    assessment_id: uuid.UUID
    recorded_at: datetime
    recorded_by: str
    implications: list[Implication]
    description: str
    promise: str | None
    reassess_by: datetime | None = Field(
        description="When the segment should be looked at again, by the tenant's local policy; "
        "null where it sets no interval (the need is assessed as the situation changes)."
    )
    reassess_basis: Literal["policy", "plan"] | None = Field(
        description="`policy`: the tenant's interval from `since`; `plan`: the review of the "
        "client's open plan, which comes first."
    )
    reassessment_due: bool = Field(description="`reassess_by` has passed (at `at`, or now).")
    coordination: CoordinationStatus = Field(
        description="What the segment requires of care coordination and what the client has "
        "and lacks at `at` (or now)."
    )
    consent: ConsentState
    health_register: RegisterStatus
    language: str


class TimelineItem(BaseModel):
    assessment_id: uuid.UUID
    segment: SegmentRef
    previous_segment: SegmentRef | None
    changed: bool
    model: str
    model_version: str
    effective_at: datetime
    recorded_at: datetime
    recorded_by: str
    reason: str | None
    discussed_with_client: bool | None
    status: Status
    retraction: RetractionInfo | None
    source: Literal["assessment", "import"]
    consent: ConsentState


class Timeline(BaseModel):
    items: list[TimelineItem]
