"""Schema pieces every domain's API shares."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

EARLIEST_YEAR = 1900


def _plausible(value: datetime) -> datetime:
    # Far-off years overflow when converted between time zones; none is a real decision date.
    if value.year < EARLIEST_YEAR:
        raise ValueError(f"must be in {EARLIEST_YEAR} or later")
    return value


# A moment in time as requests give it: RFC 3339 with an offset, from 1900 on.
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]


def no_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


class RequestBody(BaseModel):
    """Base of every request body: unknown fields are refused, and values are never echoed in
    validation errors (they may be identity codes)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class LocalizedText(BaseModel):
    fi: str
    sv: str
    en: str
