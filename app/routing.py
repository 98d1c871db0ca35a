"""The owner of every /v1 request: who may ask, what is replayed, and what is committed.

For each request, in this order and in one place:

1. authenticate the bearer token and check the operation's scope — before the body or any
   other header is looked at, so a caller without a valid token learns nothing else; then
   the headers the access log would keep (`X-Purpose`) and the body's media type;
2. replay the first response of a write retried with its `Idempotency-Key`, or claim the key;
3. run the endpoint, whose services only run statements on the request's unit of work;
4. remember the response under the key, then commit — the response is complete (serialised
   and validated) before anything is committed, so nothing can fail after the commit;
5. on an error, roll the unit back and, if the error refused access to a client's data, write
   that attempt to the access log in a short transaction of its own;
6. a database that is away or busy is a 503 with `Retry-After`, never a 500.
"""

import dataclasses
import json
import logging
import re
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import fastapi.routing
from fastapi import Header, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.audit import service as audit
from app.auth import Principal, ScopeDependency, authenticate
from app.db import OutcomeUnknown, Unit
from app.errors import (
    AccessAttempt,
    Conflict,
    FieldError,
    Forbidden,
    MalformedBody,
    SegmenttiError,
    ServiceUnavailable,
    UnsupportedMediaType,
    invalid,
)
from app.handler import compile_handler
from app.idempotency import service as idempotency
from app.identity_codes import looks_like_identity_code
from app.runtime import Runtime, check_keys, collided, is_unavailable, runtime_of
from app.schemas import single_line_text
from app.strict_json import StrictJSONRequest

log = logging.getLogger("segmentti")

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

IDEMPOTENCY_HEADER = "idempotency-key"


def access_operation(name: str) -> Callable[[Endpoint], Endpoint]:
    """Name an endpoint's operation in the access log (default: its operationId). Allowed,
    refused and replayed accesses are all logged under this one name."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.access_operation = name  # type: ignore[attr-defined]
        return endpoint

    return mark


def raw_body(*media_types: str) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint that reads its body itself, as it arrives (a bulk import): the owner
    checks only its media type, never parses or fingerprints it."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.raw_body = media_types  # type: ignore[attr-defined]
        return endpoint

    return mark


async def idempotency_key(
    _key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Retry-safe writes: a repeat by the same caller with the same key, body "
            "and scopes returns the first response and writes nothing but the access-log line "
            "of that disclosure; any other use of the key within the tenant is 422.",
        ),
    ] = None,
) -> None:
    """Declares that a write takes `Idempotency-Key` (documents the header; the owner acts on
    it for these operations only)."""


async def open_unit(request: Request, *, read_only: bool) -> Unit:
    """The request's unit of work, opened on first use; a write unit also serves reads.

    No unit is handed out before this process's keys are known to be the database's.
    """
    unit: Unit | None = getattr(request.state, "unit", None)
    if unit is None:
        runtime = runtime_of(request)
        await check_keys(runtime)
        unit = runtime.database.unit(read_only=read_only)
        request.state.unit = unit
    elif unit.read_only and not read_only:
        raise RuntimeError("an endpoint asked for a write unit after a read unit")
    return unit


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _required_scope(dependant: Dependant) -> str | None:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, ScopeDependency):
            return dependency.call.scope
        found = _required_scope(dependency)
        if found:
            return found
    return None


_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]+\+)?json\s*(;\s*charset=\"?utf-8\"?\s*)?$")


def _is_json(content_type: str | None) -> bool:
    return content_type is not None and bool(_JSON_TYPE.match(content_type.lower()))


def _purpose(request: Request) -> tuple[str | None, str | None]:
    """`X-Purpose` as the access log would keep it (UTF-8), and what is wrong with it."""
    raw = next((v for k, v in request.scope["headers"] if k == b"x-purpose"), None)
    if raw is None:
        return None, None
    try:
        purpose = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "must be UTF-8 text"
    if not single_line_text(purpose, 200):
        return None, (
            "must be at most 200 visible characters on one line, without hidden characters "
            "or an identity code"
        )
    return purpose, None


def _client_in_path(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(request.path_params["client_id"]))
    except (KeyError, ValueError):
        return None


def _as_built(route: APIRoute) -> Any:
    """The route as FastAPI builds its handler now: the route itself, or the copy FastAPI makes
    of it for each router that includes it (with that router's prefix and dependencies)."""
    building = getattr(fastapi.routing, "_effective_route_context_var", None)
    context = building.get() if building is not None else None
    if context is not None and getattr(context, "original_route", None) is route:
        return context
    return route


class ServiceRoute(APIRoute):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.required_scope = _required_scope(self.dependant)
        self.operation: str = getattr(self.endpoint, "access_operation", self.name)
        self.raw_body: tuple[str, ...] = getattr(self.endpoint, "raw_body", ())
        self.idempotent = _depends_on(self.dependant, idempotency_key)

    def get_route_handler(self) -> Handler:
        compiled = compile_handler(_as_built(self))
        self.compiled = compiled is not None
        handler = compiled or super().get_route_handler()

        async def owner(request: Request) -> Response:
            return await _Request(
                self, handler, StrictJSONRequest(request.scope, request.receive)
            ).run()

        return owner


class _Request:
    def __init__(self, route: ServiceRoute, handler: Handler, request: Request) -> None:
        self.route = route
        self.handler = handler
        self.request = request
        self.runtime: Runtime = runtime_of(request)
        self.principal: Principal | None = None

    async def run(self) -> Response:
        try:
            self._admit()
            response = await self._replay_or_handle()
            unit: Unit | None = getattr(self.request.state, "unit", None)
            if unit is not None:
                await unit.commit()
                if unit.touched:
                    self.runtime.database_health.available()
            language = getattr(self.request.state, "language", None)
            if language is not None:
                response.headers["Content-Language"] = language
                vary = response.headers.get("Vary")
                response.headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
            return response
        except Exception as exc:
            failure = await self._after_failure(exc)
            if isinstance(failure, OutcomeUnknown):
                self.runtime.database_health.unavailable(failure)
                raise ServiceUnavailable(
                    "The connection to the database broke while this write was under way: "
                    "it may have been recorded, now or when a wait it was in ends. Sending it "
                    "again may record it twice; a write sent with an Idempotency-Key can be "
                    "retried safely.",
                    retry_after=self.runtime.settings.retry_after_seconds,
                ) from None
            if is_unavailable(failure):
                self.runtime.database_health.unavailable(failure)
                raise ServiceUnavailable(
                    "The database is unavailable or busy; nothing was written. Retry later.",
                    retry_after=self.runtime.settings.retry_after_seconds,
                ) from None
            if collided(failure):
                raise Conflict(
                    "This write collided with a concurrent one over the same clients, and the "
                    "database let the other through; nothing was written. Send it again."
                ) from None
            raise
        finally:
            unit = getattr(self.request.state, "unit", None)
            if unit is not None:
                await unit.close()

    def _admit(self) -> None:
        """Authenticate, check the scope, then the headers the access log would store."""
        headers = self.request.headers
        principal = authenticate(
            headers.get("authorization"), self.runtime.verifier, self.runtime.tenants
        )
        purpose, purpose_problem = _purpose(self.request)
        principal = dataclasses.replace(principal, purpose=purpose, operation=self.route.operation)
        self.request.state.principal = self.principal = principal
        scope = self.route.required_scope
        if scope is not None and scope not in principal.scopes:
            client_id = _client_in_path(self.request)
            raise Forbidden(
                f"This operation needs the scope `{scope}`.",
                attempt=AccessAttempt(client_id, "forbidden") if client_id else None,
            )
        if purpose_problem:
            raise invalid("X-Purpose", purpose_problem)
        content_type = headers.get("content-type")
        if self.route.raw_body:
            media = (content_type or "").split(";")[0].strip().lower()
            if media not in self.route.raw_body:
                raise UnsupportedMediaType(
                    f"Send the body with `Content-Type: {self.route.raw_body[0]}`."
                )
        elif self.route.body_field is not None and not _is_json(content_type):
            raise UnsupportedMediaType(
                "Send the body as JSON, with `Content-Type: application/json`."
            )

    async def _replay_or_handle(self) -> Response:
        key = self.request.headers.get(IDEMPOTENCY_HEADER)
        if key is None or not self.route.idempotent:
            return await self.handler(self.request)
        if not _IDEMPOTENCY_KEY.match(key) or looks_like_identity_code(key):
            raise invalid(
                "Idempotency-Key",
                "must be 1 to 255 printable ASCII characters, and not an identity code",
            )
        assert self.principal is not None
        try:
            body = await self.request.json()
        except json.JSONDecodeError as exc:
            raise MalformedBody(
                f"The body is not valid JSON: {exc.msg}.", [FieldError("body", exc.msg)]
            ) from None
        secrets = self.runtime.fingerprint_secrets
        writing = secrets[self.runtime.protector.index_check]
        prints = [
            idempotency.fingerprint(
                secret,
                self.route.operation,
                self.request.path_params,
                body,
                self.principal.scopes,
            )
            for secret in sorted(secrets.values(), key=lambda secret: secret != writing)
        ]
        unit = await open_unit(self.request, read_only=False)
        claimed = await idempotency.claim(
            unit, tenant=self.principal.org, key=key, prints=prints, sub=self.principal.sub
        )
        if isinstance(claimed, idempotency.StoredResponse):
            audit.record(unit, self.principal, client_id=claimed.client_id, outcome="replayed")
            headers = {"Idempotent-Replayed": "true"}
            if claimed.location:
                headers["Location"] = claimed.location
            return Response(
                claimed.body,
                status_code=claimed.status_code,
                headers=headers,
                media_type="application/json",
            )
        response = await self.handler(self.request)
        if response.status_code < 300:
            body = bytes(response.body)
            client_id = json.loads(body).get("client_id")
            await idempotency.remember(
                unit,
                claimed,
                idempotency.StoredResponse(
                    status_code=response.status_code,
                    location=response.headers.get("location"),
                    client_id=uuid.UUID(client_id) if client_id else _client_in_path(self.request),
                    body=body,
                ),
            )
        return response

    async def _after_failure(self, exc: Exception) -> Exception:
        """Roll back, log a refused attempt; returns the failure to report (the database's
        own, if it failed on the way)."""
        try:
            unit: Unit | None = getattr(self.request.state, "unit", None)
            if unit is not None:
                await unit.rollback()
                # Its connection too: on SQLite it holds the write turn, which the refusal's
                # log line needs.
                await unit.close()
            if isinstance(exc, SegmenttiError) and exc.attempt is not None:
                await self._log_refusal(exc.attempt)
        except Exception as cleanup:
            if not is_unavailable(cleanup):
                raise
            return exc if is_unavailable(exc) else cleanup
        return exc

    async def _log_refusal(self, attempt: AccessAttempt) -> None:
        if self.principal is None:
            return
        unit = self.runtime.database.unit()
        try:
            audit.record(
                unit,
                self.principal,
                client_id=attempt.client_id,
                outcome=attempt.outcome,
                owner=attempt.owner,
            )
            await unit.commit()
        finally:
            await unit.close()
