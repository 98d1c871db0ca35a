"""How a request names a client, and the opaque id the service answers with."""

import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.clients.identity import Identity, hetu_problem
from app.schemas import RequestBody


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

    def identity(self) -> Identity:
        if self.external_id is not None:
            return Identity(
                external_system=self.external_id.system, external_value=self.external_id.value
            )
        return Identity(hetu=self.hetu)


class ClientRef(BaseModel):
    client_id: uuid.UUID
