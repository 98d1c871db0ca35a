"""Two service processes on one database, many simultaneous assessments for one client: the
timeline stays one consistent chain, and a new person becomes exactly one client."""

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.auth import mint_token
from app.db import create_db_engine
from tests.conftest import DATA_KEY, INDEX_KEY, JWT_SECRET, ROOT, fresh_postgres_database, migrate
from tests.helpers import helsinki_assessment, hetu

PROCESSES = 2
REQUESTS = 24


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    ports = [_free_port() for _ in range(PROCESSES)]
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
            _wait_until_ready(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
            if process.stderr:
                process.stderr.close()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


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
        body = helsinki_assessment(coping, risk, client=person, effective_at="2026-01-01T00:00:00Z")
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
    for before, after in itertools.pairwise(items):
        assert after["previous_segment"] == before["segment"]
        assert after["changed"] == (after["segment"] != before["segment"])

    engine = create_db_engine(shared_database)
    try:
        with engine.connect() as connection:
            clients = connection.execute(sa.text("SELECT count(*) FROM client")).scalar_one()
            sequences = (
                connection.execute(sa.text("SELECT sequence FROM assessment ORDER BY sequence"))
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert clients == 1
    assert sequences == list(range(1, REQUESTS + 1))
