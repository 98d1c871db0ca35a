"""Pure ASGI middleware: the body-size limit and the last resort for unexpected errors."""

import json
import logging
import traceback

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_JSON, PayloadTooLarge, problem_body

log = logging.getLogger("segmentti")


async def _send_problem(send: Send, status: int, slug: str, title: str, detail: str) -> None:
    payload = json.dumps(problem_body(status, slug, title, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodySizeLimit:
    """Counts streamed bytes: FastAPI reads a whole body before validating it, and a chunked
    upload has no Content-Length, so the limit sits in front of everything."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        too_large = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Stop reading here; whatever the app answers is replaced by a 413 below.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal refused
            if not too_large:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(send)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
            if not refused:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await _send_problem(
            send,
            413,
            PayloadTooLarge.slug,
            PayloadTooLarge.title,
            f"The body must be at most {self.max_bytes} bytes.",
        )


class LastResort:
    """Answers an unexpected error with a 500 problem and stops it there.

    Starlette's own error middleware re-raises after answering so that the server logs the
    exception — message included, and a driver's message quotes the statement's parameters,
    which may be personal data. Here the type and the stack are logged, never the message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            stack = "".join(traceback.format_tb(exc.__traceback__))
            log.error("unexpected error %s\n%s", type(exc).__name__, stack)
            if not started:
                await _send_problem(
                    send,
                    500,
                    "internal-error",
                    "Internal server error",
                    "The service failed; nothing was written.",
                )
