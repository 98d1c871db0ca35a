"""The access log as a client's § 11 request is answered."""

from datetime import datetime

from pydantic import BaseModel, Field


class AccessLogItem(BaseModel):
    at: datetime
    actor: str
    operation: str
    purpose: str | None
    outcome: str


class AccessLog(BaseModel):
    items: list[AccessLogItem]
    next: str | None = Field(
        default=None, description="More entries: pass it as `before` for the next page."
    )
