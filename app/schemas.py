"""Schema pieces every domain's API shares."""

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    """Base of every request body: unknown fields are refused, and values are never echoed in
    validation errors (they may be identity codes)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class LocalizedText(BaseModel):
    fi: str
    sv: str
    en: str
