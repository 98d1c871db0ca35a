"""The edge of the service: one pure ASGI middleware around every request.

In one layer (each extra layer costs every request, /healthz included):

- the request id: the gateway's `X-Request-ID` if it is a plain token, else a new one; echoed
  on the response and written in the log line;
- headers for the gateway and browsers: responses carry client data, so `Cache-Control:
  no-store` and `X-Content-Type-Options: nosniff` go on every one;
- the body-size limit, counted on the streamed bytes (a chunked upload has no Content-Length,
  and FastAPI reads a whole body before validating it);
- metrics and the one log line per request, by route template — never the raw path, which a
  mistaken integrator could fill with an identity code;
- `HEAD` wherever `GET` is served: the GET runs and only its body is held back;
- the last resort: an unexpected error is a 500 problem, logged by type and stack only —
  never its message, which may quote a statement's parameters.
"""

import functools
import ipaddress
import json
import logging
import re
import time
import traceback
from urllib.parse import parse_qsl, unquote

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_JSON, PayloadTooLarge, problem_body
from app.identity_codes import holds_code_on_its_own, looks_like_identity_code
from app.ids import new_id
from app.logs import ACCESS
from app.metrics import Metrics

log = logging.getLogger("segmentti")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
EDGE_HEADERS = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    given = next((value for name, value in headers if name == b"x-request-id"), None)
    if given is not None:
        text = given.decode("latin-1")
        if _REQUEST_ID.match(text) and not looks_like_identity_code(text):
            return text
    return new_id().hex


def caller_address(scope: Scope) -> str:
    """The caller's address for the log line: an address, or '-' (a trusted proxy's
    X-Forwarded-For becomes the client address, and it could say anything)."""
    client = scope.get("client")
    return _address(client[0]) if client else "-"


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> str:
    """An address as written in the log (parsed once per distinct caller, not per request)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return "-"


# The documentation's own paths, which are not API routes (no client id can be in them).
_DOCUMENTATION = {
    "/openapi.json": "/openapi.json",
    "/static-offline-docs/": "/static-offline-docs/{file}",
}


def route_template(scope: Scope) -> str:
    """The route a request matched, as its template — never the raw path."""
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    path = str(scope.get("path", ""))
    for prefix, template in _DOCUMENTATION.items():
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            return template
    return "unmatched"


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        body_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        # Paths with a limit of their own (a bulk import).
        self.body_limits = body_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        headers = scope.get("headers", [])
        rid = request_id(headers)
        scope.setdefault("state", {})["request_id"] = rid
        extra = [*EDGE_HEADERS, (b"x-request-id", rid.encode())]
        limit = self.body_limits.get(scope["path"], self.max_body_bytes)
        if _identity_code_in_url(scope):
            # Refused before anything reads or logs it; the log line names only the status.
            detail = (
                "An identity code never goes in a URL (gateways and proxies log URLs): find "
                "the client with POST /v1/clients/lookup and use its client_id."
            )
            title = "Identity code in the URL"
            await _problem(send, 400, "identity-code-in-url", title, detail, extra)
            method = "HEAD" if head else scope["method"]
            self._record(scope, method, 400, time.perf_counter() - started, rid)
            return
        status = 500
        response_started = too_large = False
        received = 0

        async def refuse() -> None:
            nonlocal status, response_started
            status, response_started = 413, True
            detail = f"The body must be at most {limit} bytes."
            await _problem(send, 413, PayloadTooLarge.slug, PayloadTooLarge.title, detail, extra)

        async def counting_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Read no further; whatever the app answers is replaced by the 413.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def edge_send(message: Message) -> None:
            nonlocal status, response_started
            if too_large:
                if not response_started:
                    await refuse()
                return
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = [*message.get("headers", []), *extra]
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            declared = dict(headers).get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await refuse()
                return
            await self.app(scope, counting_receive, edge_send)
        except ClientDisconnect:
            # The caller went away before its body was read (an upload stopped half way):
            # its transaction was rolled back and there is no one to answer. Not a failure of
            # ours; 499 in the access log and metrics, as proxies write it.
            status = 499
            log.info("the caller went away before its request was read (request %s)", rid)
        except Exception as exc:
            if too_large:
                if not response_started:
                    await refuse()
                return
            log.error(
                "unexpected error %s (request %s)\n%s",
                type(exc).__name__,
                rid,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            if not response_started:
                status = 500
                detail = "The service failed; nothing was written."
                await _problem(send, 500, "internal-error", "Internal server error", detail, extra)
        finally:
            method = "HEAD" if head else scope["method"]
            self._record(scope, method, status, time.perf_counter() - started, rid)

    def _record(self, scope: Scope, method: str, status: int, elapsed: float, rid: str) -> None:
        template = route_template(scope)
        self.metrics.observe(method, template, status, elapsed)
        ACCESS.info(
            "%s %s %s %.1fms request_id=%s client=%s",
            method,
            template,
            status,
            elapsed * 1000,
            rid,
            caller_address(scope),
        )


# Opaque tokens the service itself gave: base64 that could by chance hold a code glued to
# other characters; only a code standing on its own is refused there.
_SEALED_PARAMETERS = frozenset({"since", "after", "before"})


def _identity_code_in_url(scope: Scope) -> bool:
    if looks_like_identity_code(unquote(scope["path"])):
        return True
    query = scope.get("query_string", b"").decode("latin-1")
    return any(
        looks_like_identity_code(name)
        or (
            holds_code_on_its_own(value)
            if name in _SEALED_PARAMETERS
            else looks_like_identity_code(value)
        )
        for name, value in parse_qsl(query, keep_blank_values=True)
    )


async def _problem(
    send: Send, status: int, slug: str, title: str, detail: str, extra: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(problem_body(status, slug, title, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
