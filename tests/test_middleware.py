"""The pure ASGI middleware: an unexpected error is answered, logged without its message, and
stopped, so no server logs it with the data its message may quote."""

import asyncio
import logging
from typing import Any

import pytest
from starlette.requests import ClientDisconnect

from app.http import Edge
from app.metrics import Metrics

LEAKY_MESSAGE = "duplicate key (identity)=(131052-308T)"


async def failing_app(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError(LEAKY_MESSAGE)


def call(app: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    asyncio.run(app(scope, receive, send))
    return sent


def test_an_unexpected_error_is_a_500_problem_and_goes_no_further(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    edge = Edge(failing_app, metrics=Metrics(), max_body_bytes=1000)
    sent = call(edge)  # would raise if the error were passed on
    assert sent[0]["status"] == 500
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]
    assert b"nothing was written" in sent[1]["body"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged
    assert "131052" not in logged


async def caller_gone_app(scope: Any, receive: Any, send: Any) -> None:
    raise ClientDisconnect()


def test_a_caller_that_went_away_is_no_error_of_ours(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    metrics = Metrics()
    edge = Edge(caller_gone_app, metrics=metrics, max_body_bytes=1000)
    sent = call(edge)  # an upload stopped half way: no one to answer
    assert sent == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    access = [r.getMessage() for r in caplog.records if r.name == "segmentti.access"]
    assert access and " 499 " in access[0]
