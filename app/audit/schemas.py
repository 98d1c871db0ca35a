"""The access log as a client's § 11 request is answered."""

from datetime import datetime

from pydantic import BaseModel


class AccessLogItem(BaseModel):
    at: datetime
    actor: str
    operation: str
    purpose: str | None
    outcome: str


class AccessLog(BaseModel):
    items: list[AccessLogItem]
