"""API bodies of the model catalog and of classification, and the segment references other
domains embed."""

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from app.consents.schemas import ConsentInput
from app.schemas import FreeDocument, FreeText, LocalizedText, Moment, RequestBody, no_blank

Need = Literal["required", "usually", "if_needed", "not_needed"]


class SegmentRef(BaseModel):
    code: int = Field(description="The segment's number in its model.")
    key: str
    name: str
    register_code: int | None = Field(
        description="The health-register number (Apotti 1–4); null when the model has none."
    )


class Implication(BaseModel):
    aspect: str
    label: str
    text: str


class GroupRef(BaseModel):
    key: str
    name: str


class ModelSummary(BaseModel):
    model_config = ConfigDict(validate_by_name=True)

    id: str
    name: LocalizedText
    latest_version: str
    register_name: Literal["health"] | None = Field(alias="register")
    default: bool


class ModelList(BaseModel):
    default_model: str
    items: list[ModelSummary]


class ValueLabel(BaseModel):
    value: str
    label: LocalizedText


class AnswerDescription(BaseModel):
    name: str
    kind: Literal["choice", "integer", "boolean", "choice_list", "levels"]
    required: bool
    label: LocalizedText
    values: list[ValueLabel] = Field(description="Allowed values (choice, choice_list, levels).")
    keys: list[ValueLabel] = Field(description="The object's keys (levels).")
    minimum: int | None


class ImplicationText(BaseModel):
    aspect: str
    label: LocalizedText
    text: LocalizedText


class SegmentDescription(BaseModel):
    code: int
    key: str
    register_code: int | None
    names: LocalizedText
    group: str
    group_names: LocalizedText
    implications: list[ImplicationText]
    description: LocalizedText = Field(description="Addressed to the client.")
    promise: LocalizedText | None = Field(description="The service promise, where one is made.")
    coordination: dict[str, Need] = Field(
        description="What the segment requires of care coordination: `named_contact`, `team`, "
        "`plan`, each `required`, `usually`, `if_needed` or `not_needed`."
    )
    reassess_after_days: int | None = Field(
        description="The tenant's local policy for re-assessment (no seed gives an interval); "
        "null: assessed again when the situation changes."
    )
    placed_by: dict[str, str] = Field(
        description="Grid models: the answers that place a client in this segment."
    )


class ModelVersionDescription(BaseModel):
    version: str
    valid_from: date
    valid_until: date | None = Field(description="The last day in force, if the version ends.")
    withdrawn_on: date | None = Field(
        description="From this day no new assessment may use the version; stored ones keep it."
    )


class ModelDetail(BaseModel):
    model_config = ConfigDict(validate_by_name=True)

    id: str
    name: LocalizedText
    source: LocalizedText
    register_name: Literal["health"] | None = Field(alias="register")
    rule: str
    parameters: dict[str, int]
    parameters_basis: Literal["seed", "local_policy"] | None = Field(
        description="`local_policy`: the thresholds are a county's own decision, shipped as "
        "illustrative defaults, not figures from the model's source material."
    )
    parameters_note: LocalizedText | None
    register_note: LocalizedText | None = Field(
        description="Where the register numbering comes from, when the tenant supplies it."
    )
    version: str = Field(description="The version described here (the newest unless asked).")
    valid_from: date
    valid_until: date | None
    withdrawn_on: date | None
    versions: list[ModelVersionDescription]
    answers: list[AnswerDescription]
    segments: list[SegmentDescription]


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
    details: FreeDocument = Field(
        default_factory=dict,
        description="Other structured detail, stored as given: at most 8 levels deep and "
        "16 KiB, and no personal identity code anywhere in it.",
    )
    decided_segment: StrictInt | None = Field(
        default=None, description="The professional's decision; the suggestion when omitted."
    )
    override_reason: FreeText | None = Field(default=None, max_length=2000)
    consent: ConsentInput | None = None
    effective_at: Moment | None = Field(
        default=None,
        description="When the segment takes effect; now when omitted, never "
        "in the future. RFC 3339 with an offset.",
    )

    _reason = field_validator("override_reason")(no_blank)


class ClassificationResult(BaseModel):
    model: str
    model_version: str
    suggested_segment: SegmentRef
    explanation: list[str]
    warnings: list[str]
    attention: bool | None = Field(
        default=None, description="Models with risk factors: two or more call for attention."
    )


Coordination = Literal["named_contact", "team", "plan"]


class CoordinationStatus(BaseModel):
    needs: dict[Coordination, Need] = Field(
        description="What the segment asks of each kind of coordination (the model file, or "
        "the tenant's override)."
    )
    held: dict[Coordination, bool] = Field(description="What the client has at the moment.")
    missing: list[Coordination] = Field(description="Required and lacking.")
    advised: list[Coordination] = Field(description="Usually needed and lacking.")
