"""The client table and the identity schemas a request may carry."""

import re
import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from app.db import UTCDateTime
from app.schemas import RequestBody

HETU_SHAPE = re.compile(r"^\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]$")


class Client(SQLModel, table=True):
    """One person as known to one tenant. The identity code is stored only encrypted; lookups
    go through a keyed hash (blind index), so the database alone never reveals who is who."""

    __tablename__ = "client"
    __table_args__ = (
        sa.UniqueConstraint("tenant", "identity_index"),
        sa.CheckConstraint("identity_kind IN ('hetu', 'external')", name="identity_kind"),
    )

    id: uuid.UUID = Column(default_factory=uuid.uuid4, primary_key=True)
    tenant: str = Column(max_length=64)
    identity_kind: str = Column(max_length=16)
    identity_index: str = Column(max_length=64)
    hetu_encrypted: str | None = Column(default=None, max_length=255)
    external_system: str | None = Column(default=None, max_length=255)
    external_value: str | None = Column(default=None, max_length=255)
    created_at: datetime = Column(sa_type=UTCDateTime)
    created_by: str = Column(max_length=255)


class ExternalId(RequestBody):
    system: str = Field(min_length=1, max_length=255, description="URI of the issuing system")
    value: str = Field(min_length=1, max_length=255)


class ClientIdentity(RequestBody):
    """Exactly one of `hetu` (Finnish personal identity code) or `external_id`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"hetu": "131052-308T"}]})

    hetu: str | None = Field(
        default=None,
        description="Finnish personal identity code, any century sign of the 2023 reform; "
        "kept exactly as given. Never appears in URLs, logs or errors.",
        max_length=11,
    )
    external_id: ExternalId | None = None

    @field_validator("hetu")
    @classmethod
    def _valid_hetu(cls, value: str | None) -> str | None:
        from app.clients.identity import hetu_problem

        if value is None:
            return None
        problem = hetu_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> "ClientIdentity":
        if (self.hetu is None) == (self.external_id is None):
            raise ValueError("give exactly one of `hetu` or `external_id`")
        return self


class ClientRef(BaseModel):
    client_id: uuid.UUID
