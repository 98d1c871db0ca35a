"""Database statements per request, per operation, counted from PostgreSQL's own log.

Every statement the server executes for the service's database (BEGIN, COMMIT, pings and
queries alike) is one round trip or part of one; counting them in the server's log sees what
the driver really sends, whatever the service's code believes it does. Run from the project
root (the server must log to the file below, as Debian's clusters do):

    python3 bench/round_trips.py [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--log /var/log/postgresql/postgresql-15-main.log] [--requests 20]

It ends with what one round trip costs the service's process in CPU (asyncpg on uvloop, an
empty BEGIN and COMMIT, the server doing next to nothing): what a statement fewer saves
before anything the statement itself does.
"""

import argparse
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvloop
from support import hetu, postgres_database, service, token

from app.db import create_engine

Call = Callable[[httpx.Client, int], httpx.Response]


def statements_in(log: Path, offset: int, database: str) -> int:
    pattern = re.compile(rf"@{re.escape(database)} LOG:  (statement|execute)")
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", errors="replace")
    return len(pattern.findall(text))


def operations(client_ids: list[str], assessment_ids: list[str]) -> list[tuple[str, Call]]:
    answers = {"coping": "difficult", "risk_level": "many"}

    def submit_new(http: httpx.Client, i: int) -> httpx.Response:
        response = http.post(
            "/v1/assessments",
            json={
                "client": {"hetu": hetu(i)},
                "answers": answers,
                "consent": {"health_register": True},
            },
        )
        client_ids.append(response.json()["client_id"])
        assessment_ids.append(response.json()["assessment_id"])
        return response

    def submit_first(http: httpx.Client, i: int) -> httpx.Response:
        person = {"hetu": hetu(500_000 + i)}  # no one the other rows write
        return http.post("/v1/assessments", json={"client": person, "answers": answers})

    def submit_again(http: httpx.Client, i: int) -> httpx.Response:
        return http.post("/v1/assessments", json={"client": {"hetu": hetu(i)}, "answers": answers})

    def submit_idempotent(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(
            "/v1/assessments",
            json={"client": {"hetu": hetu(i)}, "answers": answers},
            headers={"Idempotency-Key": f"round-trips-{i}"},
        )

    def replay(http: httpx.Client, i: int) -> httpx.Response:
        return submit_idempotent(http, i)

    return [
        ("POST /v1/classify", lambda http, i: http.post("/v1/classify", json={"answers": answers})),
        ("POST /v1/assessments (new client)", submit_first),
        ("POST /v1/assessments (new client, consent)", submit_new),
        ("POST /v1/assessments (known client)", submit_again),
        ("POST /v1/assessments (Idempotency-Key)", submit_idempotent),
        ("POST /v1/assessments (replay)", replay),
        (
            "GET /v1/clients/{id}/segment",
            lambda http, i: http.get(f"/v1/clients/{client_ids[i]}/segment"),
        ),
        (
            "GET /v1/clients/{id}/segment-history",
            lambda http, i: http.get(f"/v1/clients/{client_ids[i]}/segment-history"),
        ),
        (
            "GET /v1/assessments/{id}",
            lambda http, i: http.get(f"/v1/assessments/{assessment_ids[i]}"),
        ),
        (
            "POST /v1/clients/lookup",
            lambda http, i: http.post("/v1/clients/lookup", json={"hetu": hetu(i)}),
        ),
        (
            "POST /v1/clients/{id}/consents",
            lambda http, i: http.post(
                f"/v1/clients/{client_ids[i]}/consents", json={"register": "health", "given": False}
            ),
        ),
        (
            "GET /v1/clients/{id}/consents",
            lambda http, i: http.get(f"/v1/clients/{client_ids[i]}/consents"),
        ),
        (
            "GET /v1/clients/{id}/access-log",
            lambda http, i: http.get(f"/v1/clients/{client_ids[i]}/access-log"),
        ),
        (
            "POST /v1/assessments/{id}/retraction",
            lambda http, i: http.post(
                f"/v1/assessments/{assessment_ids[i]}/retraction", json={"reason": "error"}
            ),
        ),
        (
            "GET /v1/clients/{id}/segment (none in force: 404)",
            lambda http, i: http.get(
                f"/v1/clients/{client_ids[i]}/segment", params={"at": "2001-01-01T00:00:00Z"}
            ),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--log", type=Path, default=Path("/var/log/postgresql/postgresql-15-main.log")
    )
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with postgres_database(args.postgres, "round_trips") as url:
        database = sa.make_url(url).database
        admin = sa.create_engine(sa.make_url(args.postgres).set(drivername="postgresql+psycopg"))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"ALTER DATABASE \"{database}\" SET log_statement = 'all'")
        admin.dispose()
        headers = {"Authorization": f"Bearer {token()}"}
        with service(url, 8790) as base, httpx.Client(base_url=base, headers=headers) as http:
            client_ids: list[str] = []
            assessment_ids: list[str] = []
            print(f"{'operation':<52} statements per request")
            for name, call in operations(client_ids, assessment_ids):
                http.get("/healthz")  # settle: nothing of the previous operation is still logging
                time.sleep(0.3)
                offset = args.log.stat().st_size
                for i in range(args.requests):
                    response = call(http, i)
                    refused = response.status_code == 404
                    assert refused if "404" in name else response.status_code < 300, (
                        name,
                        response.text,
                    )
                time.sleep(0.3)
                count = statements_in(args.log, offset, str(database))
                print(f"{name:<52} {count / args.requests:.1f}")
        cost = round_trip_cpu(url)
        print(f"one round trip costs this process {cost:.0f} µs of CPU (an empty BEGIN or COMMIT)")


async def _round_trip_cpu(url: str, pairs: int = 5000) -> float:
    """CPU µs of this process per round trip: `pairs` empty transactions on one connection."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            for _ in range(100):  # warm
                await raw.execute("BEGIN")
                await raw.execute("COMMIT")
            started = time.process_time()
            for _ in range(pairs):
                await raw.execute("BEGIN")
                await raw.execute("COMMIT")
            return (time.process_time() - started) / (2 * pairs) * 1e6
    finally:
        await engine.dispose()


def round_trip_cpu(url: str) -> float:
    return uvloop.run(_round_trip_cpu(url))


if __name__ == "__main__":
    main()
