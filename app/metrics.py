"""Prometheus metrics: requests by route, status and duration (counted in app/http.py).

Labels are route templates (`/v1/clients/{client_id}/segment`), never raw paths, so no client id
becomes a label value. Each app has its own registry; each process exposes its own figures and
Prometheus adds them up across instances.
"""

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram


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
        # Each route's labelled series, looked up once (`labels` checked and locked per call:
        # a fiftieth of a segment read). Methods, templates and statuses are a closed set.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = self._series[(method, route, status)] = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
        series[0].inc()
        series[1].observe(seconds)
