"""Request and response bodies of assessments, the segment timeline and consent."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from app.clients.models import ClientIdentity
from app.schemas import Moment, RequestBody
from app.segmentation.schemas import GroupRef, Implication, SegmentRef

Status = Literal["active", "retracted"]


class ConsentInput(RequestBody):
    health_register: bool = Field(
        description="The client's consent to recording the segment in the health care register."
    )


def _no_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


class ClassifyRequest(RequestBody):
    model: str | None = Field(
        default=None, max_length=64, description="Model id; the tenant's default when omitted."
    )
    model_version: str | None = Field(
        default=None,
        max_length=32,
        description="Pin a version; by default the version in force at `effective_at`.",
    )
    answers: dict[str, Any] = Field(description="The model's answers; see GET /v1/models/{id}.")
    details: dict[str, Any] = Field(
        default_factory=dict, description="Other structured detail, stored as given."
    )
    decided_segment: StrictInt | None = Field(
        default=None, description="The professional's decision; the suggestion when omitted."
    )
    override_reason: str | None = Field(default=None, max_length=2000)
    consent: ConsentInput | None = None
    effective_at: Moment | None = Field(
        default=None,
        description="When the segment takes effect; now when omitted, never "
        "in the future. RFC 3339 with an offset.",
    )

    _reason = field_validator("override_reason")(_no_blank)


class AssessmentRequest(ClassifyRequest):
    client: ClientIdentity


class ConsentState(BaseModel):
    health_register: bool | None = Field(
        description="true given, false withdrawn, null never asked."
    )
    since: datetime | None = Field(description="When the state took effect.")


class ClassificationResult(BaseModel):
    model: str
    model_version: str
    suggested_segment: SegmentRef
    explanation: list[str]
    warnings: list[str]
    attention: bool | None = Field(
        default=None, description="Models with risk factors: two or more call for attention."
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
    consent: ConsentState
    status: Status
    source: Literal["assessment", "import"]
    retraction: RetractionInfo | None


class RetractionRequest(RequestBody):
    reason: str = Field(min_length=1, max_length=2000)

    _reason = field_validator("reason")(_no_blank)


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
    reassess_by: datetime = Field(description="When the segment should be looked at again.")
    reassessment_due: bool = Field(description="`reassess_by` has passed (at `at`, or now).")
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
    status: Status
    retraction: RetractionInfo | None
    source: Literal["assessment", "import"]
    consent: ConsentState


class Timeline(BaseModel):
    items: list[TimelineItem]


class ConsentRequest(RequestBody):
    register_name: Literal["health", "social"] = Field(
        alias="register",
        description="`health`; `social` is refused until structured recording into the social "
        "care register is possible.",
    )
    given: bool
    at: Moment | None = Field(default=None, description="Now when omitted.")


class ConsentEventView(BaseModel):
    model_config = ConfigDict(validate_by_name=True)

    consent_id: uuid.UUID
    client_id: uuid.UUID
    register_name: str = Field(alias="register")
    given: bool
    at: datetime
    recorded_at: datetime
    recorded_by: str
    source: str
    assessment_id: uuid.UUID | None


class ConsentEvents(BaseModel):
    items: list[ConsentEventView]
