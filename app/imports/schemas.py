"""One line of an import: a historical segment decision, as a register entry records it."""

from pydantic import BaseModel, Field, StrictInt

from app.clients.schemas import ClientIdentity
from app.schemas import Moment, Recorder, RequestBody


class ImportConsent(RequestBody):
    health_register: bool
    at: Moment | None = Field(default=None, description="Default: the decision's effective_at.")


class ImportLine(RequestBody):
    client: ClientIdentity
    model: str = Field(max_length=64)
    model_version: str | None = Field(
        default=None,
        max_length=32,
        description="Default: the version in force at effective_at (a withdrawn one too: the "
        "decision was made under it).",
    )
    segment_code: StrictInt = Field(
        description="The register number for a model with register numbering (Apotti 1–4), "
        "else the model's segment code."
    )
    effective_at: Moment
    recorded_by: Recorder = Field(min_length=1, max_length=255)
    consent: ImportConsent | None = None


class ImportResult(BaseModel):
    imported: int = Field(description="Decisions written; lines imported before are not counted.")
    lines: int = Field(description="Lines read.")
