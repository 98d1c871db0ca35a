"""Domain errors and their one rendering: RFC 9457 `application/problem+json`.

    SegmenttiError
     ├── InvalidInput          422  (field errors)
     ├── MalformedBody         400
     ├── Unauthenticated       401
     ├── Forbidden             403
     ├── NotFound              404
     ├── Conflict              409
     ├── PayloadTooLarge       413
     ├── UnsupportedMediaType  415
     └── ServiceUnavailable    503  (the database is away or busy; retry after a while)

Messages name the field and what was expected; they never repeat the value that was sent, so an
identity code cannot leak through an error. An error refusing access to a client's data carries
an `AccessAttempt`, which the request's owner writes to the access log (app/routing.py).
"""

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from app.identity_codes import looks_like_identity_code

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass(frozen=True)
class AccessAttempt:
    """A refused access, as the access log records it: the client (when known) and why. An
    attempt on another tenant's client goes to that tenant's log (`owner`), so the client's
    own county sees who tried."""

    client_id: uuid.UUID | None
    outcome: str
    owner: str | None = None


class SegmenttiError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        errors: Sequence[FieldError] = (),
        *,
        attempt: AccessAttempt | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.attempt = attempt

    @property
    def headers(self) -> dict[str, str]:
        return {}


class InvalidInput(SegmenttiError):
    status = 422
    slug = "validation-error"
    title = "The request is not valid"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        fields = ", ".join(e.field for e in errors)
        super().__init__(detail or f"Check these fields: {fields}.", errors)


class MalformedBody(SegmenttiError):
    status = 400
    slug = "malformed-body"
    title = "The request body cannot be read"


class Unauthenticated(SegmenttiError):
    status = 401
    slug = "unauthenticated"
    title = "A valid bearer token is required"


class Forbidden(SegmenttiError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(SegmenttiError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(SegmenttiError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class PayloadTooLarge(SegmenttiError):
    status = 413
    slug = "payload-too-large"
    title = "The request body is too large"


class UnsupportedMediaType(SegmenttiError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class ServiceUnavailable(SegmenttiError):
    status = 503
    slug = "service-unavailable"
    title = "The service is temporarily unavailable"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput([FieldError(field, message)])


def problem_body(
    status: int, slug: str, title: str, detail: str, errors: Sequence[FieldError] = ()
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:segmentti:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return body


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, slug, title, detail, errors),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


# A location part that could be anything a caller typed (an unknown key) is named only if it
# looks like a field name; otherwise it might be an identity code and is not repeated.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def safe_name(part: object) -> str:
    if isinstance(part, int):
        return str(part)
    if isinstance(part, str) and _NAME.match(part) and not looks_like_identity_code(part):
        return part
    return "(unnamed key)"


def _field_name(loc: Sequence[Any]) -> str:
    """The field as the caller wrote it: a body member's path, or a query or path parameter's
    own name (as the cursor and other checks of the same parameter name it)."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    return ".".join(safe_name(p) for p in parts) or "body"


_SAFE_MESSAGE_PREFIXES = ("Value error, ", "Assertion failed, ")
# Messages of pydantic's that would quote part of the input.
_OWN_MESSAGES = {"uuid_parsing": "expected a UUID", "uuid_type": "expected a UUID"}


def _message(error: dict[str, Any]) -> str:
    own = _OWN_MESSAGES.get(str(error.get("type")))
    if own:
        return own
    message = str(error.get("msg", "invalid"))
    for prefix in _SAFE_MESSAGE_PREFIXES:
        message = message.removeprefix(prefix)
    return message


def field_errors_from_pydantic(errors: Sequence[Any]) -> list[FieldError]:
    return [FieldError(_field_name(e.get("loc", ())), _message(e)) for e in errors]


async def _segmentti_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SegmenttiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else exc.headers
    return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.errors, headers)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    invalid_json = [e for e in errors if e.get("type") == "json_invalid"]
    if invalid_json:
        # The decoder's own message ("Expecting ',' delimiter") names no input.
        reason = str(invalid_json[0].get("ctx", {}).get("error", "")).strip()
        detail = (
            f"The body is not valid JSON: {reason}." if reason else "The body is not valid JSON."
        )
        problems = [FieldError("body", reason or "not valid JSON")]
        return problem_response(400, MalformedBody.slug, MalformedBody.title, detail, problems)
    fields = field_errors_from_pydantic(errors)
    return problem_response(
        422,
        InvalidInput.slug,
        InvalidInput.title,
        "Check these fields: " + ", ".join(f.field for f in fields) + ".",
        fields,
    )


def _allowed_methods(request: Request) -> str:
    """Every method the path takes, from the API's own description of itself (Starlette names
    only the first of several routes that share a path)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if compile_path(template)[0].match(request.url.path):
            methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(
        exc.status_code, f"http-{exc.status_code}", title, detail, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SegmenttiError, _segmentti_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)


class ProblemField(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `answers.coping`.")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is returned."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = Field(
        default=None, description="Validation errors: one per field."
    )


_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No valid bearer token.",
    403: "The token lacks the scope, or its organisation is not a tenant here.",
    404: "Not found (another tenant's resources are not found either).",
    409: "Conflicts with the current state.",
    413: "The body is too large.",
    415: "The body is not of a media type this operation takes.",
    422: "The request is not valid; `errors` names each field.",
    503: "The database is unavailable or busy; retry after `Retry-After` seconds.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the problems an operation can answer with."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


# The header of a 201, in OpenAPI.
LOCATION = {
    "Location": {"description": "Where the new resource is read.", "schema": {"type": "string"}}
}

# What every authenticated operation can answer, besides its own.
AUTHENTICATED = (401, 403, 422, 503)
WITH_BODY = (400, 401, 403, 413, 415, 422, 503)


class BadCursor(SegmenttiError):
    """A cursor (an export's `since`, a worklist's `after`) this service did not give the
    caller's tenant, or altered."""

    status = 400
    slug = "bad-cursor"
    title = "The cursor cannot be used"
