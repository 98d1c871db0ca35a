"""How a request names a client, and the opaque id the service answers with."""

import uuid

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app import identity_codes
from app.clients.identity import Identity
from app.schemas import RequestBody, text_problem

# The validation context's key for a memo of identity codes already checked (app/imports/).
HETU_MEMO = "hetu_memo"


def _identifier(value: str) -> str:
    """The caller's own identifier, compared as a person reads it: compatibility forms and
    other scripts' digits folded, invisible characters dropped, dashes made one (case kept)."""
    value = identity_codes.fold_text(value)
    if value != value.strip() or not value:
        raise ValueError("must not begin or end with white space, nor be blank")
    if identity_codes.looks_like_identity_code(value):
        raise ValueError("looks like a personal identity code; send it as `hetu`")
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class ExternalId(RequestBody):
    system: str = Field(min_length=1, max_length=255, description="URI of the issuing system")
    value: str = Field(min_length=1, max_length=255)

    @field_validator("system")
    @classmethod
    def _valid_system(cls, value: str) -> str:
        return _identifier(value)

    @model_validator(mode="after")
    def _value_fits_system(self) -> "ExternalId":
        """The identity code system (as FHIR names it) carries a hetu; nothing else may."""
        if identity_codes.is_hetu_system(self.system):
            code = identity_codes.normalise(self.value)
            problem = identity_codes.problem(code)
            if problem:
                raise ValueError(f"value: {problem}")
            self.value = code
        else:
            self.value = _identifier(self.value)
        return self


class ClientIdentity(RequestBody):
    """Exactly one of `hetu` (Finnish personal identity code) or `external_id`. An
    `external_id` of the system `urn:oid:1.2.246.21` is the identity code, and is the same
    client as the `hetu`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"hetu": "131052-308T"}]})

    hetu: str | None = Field(
        default=None,
        description="Finnish personal identity code, any century sign of the 2023 reform "
        "(full-width and lower-case forms are folded; the century sign is kept as given). "
        "Never appears in URLs, logs or errors.",
        max_length=32,
    )
    external_id: ExternalId | None = None

    @field_validator("hetu")
    @classmethod
    def _valid_hetu(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        # A bulk reader may pass a memo (value → normalised code, problem) as the context.
        memo = info.context.get(HETU_MEMO) if isinstance(info.context, dict) else None
        known = memo.get(value) if memo is not None else None
        if known is None:
            code = identity_codes.normalise(value)
            known = code, identity_codes.problem(code)
            if memo is not None:
                memo[value] = known
        code, problem = known
        if problem:
            raise ValueError(problem)
        return code

    @model_validator(mode="after")
    def _exactly_one(self) -> "ClientIdentity":
        if (self.hetu is None) == (self.external_id is None):
            raise ValueError("give exactly one of `hetu` or `external_id`")
        if self.external_id is not None and identity_codes.is_hetu_system(self.external_id.system):
            self.hetu, self.external_id = self.external_id.value, None
        return self

    def identity(self) -> Identity:
        if self.external_id is not None:
            return Identity(
                external_system=self.external_id.system, external_value=self.external_id.value
            )
        return Identity(hetu=self.hetu)


class ClientRef(BaseModel):
    client_id: uuid.UUID
