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
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth import SCOPES, mint_token  # noqa: E402
from app.db import create_db_engine  # noqa: E402

SECRET = "bench-secret-bench-secret-bench-secret"
CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
LEVELS = (1, 8, 32, 64)
ANSWERS = {"coping": "difficult", "risk_level": "many"}
# One counter for the whole run: every submitted identity code is distinct (unique below ~10M).
SERIAL = itertools.count()


def hetu(n: int) -> str:
    birth, individual = (
        f"{(n % 28) + 1:02d}{(n // 28) % 12 + 1:02d}{(n // 336) % 100:02d}",
        2 + n % 897,
    )
    return f"{birth}-{individual:03d}{CHECK[int(f'{birth}{individual:03d}') % 31]}"


def start(url: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SEGMENTTI_DATABASE_URL": url,
        "SEGMENTTI_JWT_SECRET": SECRET,
        "SEGMENTTI_DATA_KEY": Fernet.generate_key().decode(),
        "SEGMENTTI_INDEX_KEY": "bench",
    }
    migrate = [sys.executable, "-m", "alembic", "upgrade", "head"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, capture_output=True)
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--log-level", "warning"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop(process)
    raise RuntimeError("service did not become ready")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


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
    token = mint_token(SECRET, sub="bench", org="helsinki", scopes=list(SCOPES))
    limits = httpx.Limits(max_connections=max(LEVELS), max_keepalive_connections=max(LEVELS))
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
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
    process = start(url, port, log_path)
    try:
        rows = asyncio.run(bench(f"http://127.0.0.1:{port}", count, seconds))
    finally:
        stop(process)
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
        base = sa.make_url(args.postgres)
        name = f"segmentti_load_{uuid.uuid4().hex[:8]}"
        admin = create_db_engine(args.postgres)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = base.set(database=name).render_as_string(False)
            run("PostgreSQL", url, 8768, args.requests, args.seconds, logs)
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
