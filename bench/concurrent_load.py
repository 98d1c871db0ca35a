"""Throughput of the main operations under concurrent load, on SQLite and PostgreSQL.

One uvicorn process per database on 127.0.0.1; per concurrency level, a bounded number of
requests per operation from that many httpx.AsyncClient tasks (each (operation, level) stops
at its count or time limit). Prints requests/s, p50/p95, errors and throughput relative to
`GET /healthz` at the same level; the server's stderr is kept in a temp file and summarised:

    python3 bench/concurrent_load.py [--requests 400] [--postgres postgresql://postgres@.../test]
"""

import argparse
import asyncio
import itertools
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from support import hetu, postgres_database, service, token

LEVELS = (1, 8, 32, 64)
ANSWERS = {"coping": "difficult", "risk_level": "many"}
# One counter for the whole run: every submitted identity code is distinct.
SERIAL = itertools.count()


Call = Callable[[int], Awaitable[httpx.Response]]


async def load(
    call: Call, count: int, concurrency: int, seconds: float
) -> tuple[float, list[float], int, Counter[str]]:
    """Up to `count` calls from `concurrency` tasks, none started after `seconds`."""
    timings: list[float] = []
    failures: Counter[str] = Counter()
    issued, errors = itertools.count(), 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal errors
        while (i := next(issued)) < count and time.perf_counter() < deadline:
            begin = time.perf_counter()
            try:
                response = await call(i)
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
                continue
            timings.append((time.perf_counter() - begin) * 1000)
            if response.status_code >= 300:
                errors += 1
                failures[str(response.status_code)] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, timings, errors, failures


async def bench(base: str, count: int, seconds: float) -> list[tuple[str, int, str]]:
    limits = httpx.Limits(max_connections=max(LEVELS), max_keepalive_connections=max(LEVELS))
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token()}"},
        limits=limits,
        timeout=httpx.Timeout(30.0),
    ) as http:
        ids: list[str] = []

        async def submit(_: int) -> httpx.Response:
            body = {"client": {"hetu": hetu(next(SERIAL))}, "answers": ANSWERS}
            response = await http.post("/v1/assessments", json=body)
            if response.status_code < 300:
                ids.append(response.json()["client_id"])
            return response

        async def segment(i: int) -> httpx.Response:
            return await http.get(f"/v1/clients/{ids[i % len(ids)]}/segment")

        operations: dict[str, Call] = {
            "GET /healthz (baseline)": lambda _: http.get("/healthz"),
            "POST /v1/assessments": submit,
            "GET /v1/clients/{id}/segment": segment,
        }
        for call in operations.values():
            await load(call, 10, 1, seconds)  # warm up (and the first clients to read)
        rows: list[tuple[str, int, str]] = []
        for concurrency in LEVELS:
            baseline = 0.0
            for label, call in operations.items():
                elapsed, timings, errors, failures = await load(call, count, concurrency, seconds)
                timings.sort()
                rate = len(timings) / elapsed
                baseline = baseline or rate
                p50 = statistics.median(timings) if timings else float("nan")
                p95 = timings[max(int(len(timings) * 0.95) - 1, 0)] if timings else float("nan")
                other = sum(failures.values()) - errors
                note = " ".join(f"{k}x{v}" for k, v in sorted(failures.items()))
                line = (
                    f"{label:30} {concurrency:5} {rate:9.1f} {p50:8.2f} {p95:8.2f} {errors:6}"
                    f" {other:5} {rate / baseline:8.2f}  {note}"
                )
                rows.append((label, concurrency, line))
        return rows


def run(name: str, url: str, port: int, count: int, seconds: float, logs: Path) -> None:
    log_path = logs / f"{name.lower()}-server.log"
    with log_path.open("wb") as output, service(url, port, output) as base:
        rows = asyncio.run(bench(base, count, seconds))
    print(f"\n{name}: up to {count} requests per operation and level (limit {seconds:.0f}s)")
    print(
        f"{'operation':30} {'conc':>5} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}"
        f" {'exc':>5} {'x health':>8}  failures"
    )
    order = list(dict.fromkeys(label for label, _, _ in rows))
    for _, _, line in sorted(rows, key=lambda row: (order.index(row[0]), row[1])):
        print(line)
    lines = log_path.read_text(errors="replace").splitlines()
    unexpected = Counter(x.split("unexpected error ")[1] for x in lines if "unexpected error " in x)
    warnings = sum(1 for line in lines if line.startswith(("WARNING", "ERROR")))
    print(f"server stderr ({log_path}): {warnings} WARNING/ERROR lines; unexpected: {unexpected}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=30.0, help="limit per operation/level")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="segmentti-load-"))
    with tempfile.TemporaryDirectory() as directory:
        run("SQLite", f"sqlite:///{directory}/bench.db", 8767, args.requests, args.seconds, logs)
    if args.postgres:
        with postgres_database(args.postgres, "segmentti_load") as url:
            run("PostgreSQL", url, 8768, args.requests, args.seconds, logs)


if __name__ == "__main__":
    main()
