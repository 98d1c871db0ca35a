"""Latency of the main operations against the bare framework, on SQLite and PostgreSQL.

Starts one uvicorn process per database on 127.0.0.1, sends the same bounded sequence of
requests to each, and prints p50/p95 per operation next to `GET /healthz` — the baseline of the
same run (framework, HTTP and client cost with no database work). Run from the project root:

    python3 bench/http_latency.py [--requests 300] [--postgres postgresql://postgres@127.0.0.1/test]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
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


def hetu(n: int) -> str:
    birth, individual = (
        f"{(n % 28) + 1:02d}{(n // 28) % 12 + 1:02d}{(n // 336) % 100:02d}",
        2 + n % 897,
    )
    return f"{birth}-{individual:03d}{CHECK[int(f'{birth}{individual:03d}') % 31]}"


def start(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SEGMENTTI_DATABASE_URL": url,
        "SEGMENTTI_JWT_SECRET": SECRET,
        "SEGMENTTI_DATA_KEY": Fernet.generate_key().decode(),
        "SEGMENTTI_INDEX_KEY": "bench",
    }
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        # The service's one log line per request is part of what is measured; not shown.
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("service did not become ready")


def measure(call: Callable[[int], httpx.Response], count: int) -> list[float]:
    timings = []
    for i in range(count):
        started = time.perf_counter()
        response = call(i)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 300, response.text
    return timings


def run(name: str, url: str, port: int, count: int) -> None:
    process = start(url, port)
    base = f"http://127.0.0.1:{port}"
    headers = {
        "Authorization": "Bearer "
        + mint_token(SECRET, sub="bench", org="helsinki", scopes=list(SCOPES))
    }
    answers = {"coping": "difficult", "risk_level": "many"}
    try:
        with httpx.Client(base_url=base, headers=headers) as http:
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
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        run("SQLite", f"sqlite:///{directory}/bench.db", 8765, args.requests)
    if args.postgres:
        base = sa.make_url(args.postgres)
        name = f"segmentti_bench_{uuid.uuid4().hex[:8]}"
        admin = create_db_engine(args.postgres)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            run("PostgreSQL", base.set(database=name).render_as_string(False), 8766, args.requests)
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
