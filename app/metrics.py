"""Prometheus metrics and the access log line: requests by route, status and duration.

Labels are route templates (`/v1/clients/{client_id}/segment`), never raw paths, so no client id
becomes a label value. Each app has its own registry; each process exposes its own figures and
Prometheus adds them up across instances.
"""

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import ACCESS


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "segmentti_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "segmentti_http_request_duration_seconds",
            "Time to serve a request",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route: BaseRoute | None = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            elapsed = time.perf_counter() - started
            self.metrics.duration.labels(scope["method"], template).observe(elapsed)
            ACCESS.info("%s %s %s %.1fms", scope["method"], template, status, elapsed * 1000)
