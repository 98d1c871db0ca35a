"""Latency of the main operations against the bare framework, on SQLite and PostgreSQL.

Starts one uvicorn process per database on 127.0.0.1, sends the same bounded sequence of
requests to each, and prints p50/p95 per operation next to `GET /healthz` — the baseline of the
same run (framework, HTTP and client cost with no database work). Run from the project root:

    python3 bench/http_latency.py [--requests 300] [--postgres postgresql://postgres@127.0.0.1/test]
"""

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import httpx
from support import hetu, postgres_database, service, token


def measure(call: Callable[[int], httpx.Response], count: int) -> list[float]:
    timings = []
    for i in range(count):
        started = time.perf_counter()
        response = call(i)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 300, response.text
    return timings


def run(name: str, url: str, port: int, count: int) -> None:
    answers = {"coping": "difficult", "risk_level": "many"}
    headers = {"Authorization": f"Bearer {token()}"}
    with service(url, port) as base, httpx.Client(base_url=base, headers=headers) as http:
        ids: list[str] = []

        def submit(i: int) -> httpx.Response:
            response = http.post(
                "/v1/assessments", json={"client": {"hetu": hetu(i)}, "answers": answers}
            )
            ids.append(response.json()["client_id"])
            return response

        operations: dict[str, Callable[[int], httpx.Response]] = {
            "GET /healthz (baseline)": lambda i: http.get("/healthz"),
            "POST /v1/classify": lambda i: http.post("/v1/classify", json={"answers": answers}),
            "POST /v1/assessments": submit,
            "GET /v1/clients/{id}/segment": lambda i: http.get(
                f"/v1/clients/{ids[i % len(ids)]}/segment"
            ),
            "GET /v1/clients/{id}/segment-history": lambda i: http.get(
                f"/v1/clients/{ids[i % len(ids)]}/segment-history"
            ),
        }
        baseline = None
        print(f"\n{name}: {count} sequential requests per operation")
        print(f"{'operation':40} {'p50 ms':>8} {'p95 ms':>8} {'x baseline':>10}")
        for label, call in operations.items():
            measure(call, min(20, count))  # warm up
            timings = sorted(measure(call, count))
            p50, p95 = statistics.median(timings), timings[int(len(timings) * 0.95) - 1]
            baseline = baseline or p50
            print(f"{label:40} {p50:8.2f} {p95:8.2f} {p50 / baseline:10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        run("SQLite", f"sqlite:///{directory}/bench.db", 8765, args.requests)
    if args.postgres:
        with postgres_database(args.postgres, "segmentti_bench") as url:
            run("PostgreSQL", url, 8766, args.requests)


if __name__ == "__main__":
    main()
