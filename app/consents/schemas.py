"""Request and response bodies of consent to recording in the health care register."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import Moment, RequestBody


class ConsentInput(RequestBody):
    health_register: bool = Field(
        description="The client's consent to recording the segment in the health care register."
    )


class ConsentState(BaseModel):
    health_register: bool | None = Field(
        description="true given, false withdrawn, null never asked."
    )
    since: datetime | None = Field(description="When the state took effect.")


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
