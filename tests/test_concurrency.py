"""Two service processes on one database: simultaneous assessments for one client each get
their own place in the client's sequence, a new person becomes exactly one client, and
simultaneous retries with one Idempotency-Key all replay the first request."""

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.assessments import queries
from app.assessments.models import assessment, segment_now, segment_span
from app.auth import mint_token
from app.db import create_sync_engine
from tests.conftest import DATA_KEY, INDEX_KEY, JWT_SECRET, ROOT, fresh_postgres_database, migrate
from tests.helpers import helsinki_assessment, hetu
from tests.processes import free_port, wait_until_ready

SPAN = ("assessment_id", "client_id", "decided_code", "valid_from", "valid_to")
PROCESSES = 2
REQUESTS = 24


@pytest.fixture
def shared_database(backend: str, tmp_path: Path) -> str:
    url = (
        f"sqlite:///{tmp_path / 'shared.db'}"
        if backend == "sqlite"
        else fresh_postgres_database("concurrency")
    )
    migrate(url)
    return url


@pytest.fixture
def services(shared_database: str, tmp_path: Path) -> Iterator[list[str]]:
    env = {
        **os.environ,
        "SEGMENTTI_DATABASE_URL": shared_database,
        "SEGMENTTI_JWT_SECRET": JWT_SECRET,
        "SEGMENTTI_DATA_KEY": DATA_KEY,
        "SEGMENTTI_INDEX_KEY": INDEX_KEY,
    }
    ports = [free_port() for _ in range(PROCESSES)]
    processes = [
        subprocess.Popen(
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
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process in zip(urls, processes, strict=True):
            wait_until_ready(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
            if process.stderr:
                process.stderr.close()


def test_simultaneous_assessments_through_two_processes_form_one_chain(
    services: list[str], shared_database: str
) -> None:
    headers = {
        "Authorization": "Bearer "
        + mint_token(
            JWT_SECRET, sub="nurse", org="helsinki", scopes=["assessments:write", "segments:read"]
        )
    }
    person = {"hetu": hetu("111111", "A", 345)}
    answers = [("easy", "few"), ("difficult", "many"), ("easy", "many"), ("difficult", "few")]

    def submit(index: int) -> int:
        coping, risk = answers[index % len(answers)]
        # Moments out of order and repeated: back-dated decisions cut others' spans short.
        moment = f"2026-01-{1 + (index * 7) % 10:02d}T00:00:00Z"
        body = helsinki_assessment(coping, risk, client=person, effective_at=moment)
        response = httpx.post(
            f"{services[index % PROCESSES]}/v1/assessments", json=body, headers=headers, timeout=60
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(submit, range(REQUESTS)))
    assert statuses == [201] * REQUESTS

    client_id = httpx.post(f"{services[0]}/v1/clients/lookup", json=person, headers=headers).json()[
        "client_id"
    ]
    items = httpx.get(
        f"{services[1]}/v1/clients/{client_id}/segment-history", headers=headers
    ).json()["items"]
    assert len(items) == REQUESTS

    engine = create_sync_engine(shared_database)
    try:
        with engine.connect() as connection:
            clients = connection.execute(sa.text("SELECT count(*) FROM client")).scalar_one()
            sequences = (
                connection.execute(sa.text("SELECT sequence FROM assessment ORDER BY sequence"))
                .scalars()
                .all()
            )
            # The projections each writer derived after its lock are the whole timeline's.
            spans = queries.spans(assessment.c.tenant == "helsinki").subquery()
            kept_spans, derived_spans = (
                set(connection.execute(sa.select(*(table.c[name] for name in SPAN))).all())
                for table in (segment_span, spans)
            )
            latest = queries.in_force(datetime.now(UTC), assessment.c.tenant == "helsinki")
            in_force = connection.execute(sa.select(latest.subquery().c.id)).scalars().all()
            kept_now = connection.execute(sa.select(segment_now.c.assessment_id)).scalars().all()
    finally:
        engine.dispose()
    # One client, and every assessment got its own place in the client's sequence: no two
    # writers interleaved, whichever process served them.
    assert clients == 1
    assert sequences == list(range(1, REQUESTS + 1))
    assert kept_spans == derived_spans and len(kept_spans) == 10  # one per distinct moment
    assert kept_now == in_force and len(kept_now) == 1


def test_simultaneous_retries_with_one_key_replay_the_first_through_two_processes(
    services: list[str], shared_database: str
) -> None:
    token = mint_token(
        JWT_SECRET, sub="apotti", org="helsinki", scopes=["assessments:write", "segments:read"]
    )
    person = {"hetu": hetu("121212", "-", 678)}

    def send(path: str, body: dict[str, object], key: str) -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}

        def one(index: int) -> httpx.Response:
            return httpx.post(
                f"{services[index % PROCESSES]}{path}", json=body, headers=headers, timeout=60
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(one, range(8)))

    submits = send("/v1/assessments", helsinki_assessment(client=person), "submit-race")
    assert {r.status_code for r in submits} == {201}
    assert len({r.json()["assessment_id"] for r in submits}) == 1
    assessment_id = submits[0].json()["assessment_id"]
    retractions = send(
        f"/v1/assessments/{assessment_id}/retraction", {"reason": "entered twice"}, "retract-race"
    )
    assert [r.status_code for r in retractions] == [201] * 8
    assert len({r.text for r in retractions}) == 1

    engine = create_sync_engine(shared_database)
    try:
        with engine.connect() as connection:
            counts = [
                connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("assessment", "retraction")
            ]
    finally:
        engine.dispose()
    assert counts == [1, 1]
