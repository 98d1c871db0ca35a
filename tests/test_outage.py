"""A database that goes away: a real service process, a real PostgreSQL server stopped and
started again (a cluster of the test's own, so the suite's server keeps running), and a SQLite
file locked by another writer. The answer is a 503 with Retry-After, one log line, and the
same process serving again when the database is back."""

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.auth import SCOPES, mint_token
from app.db import create_sync_engine
from tests.conftest import (
    DATA_KEY,
    INDEX_KEY,
    JWT_SECRET,
    ROOT,
    Auth,
    TestClient,
    make_settings,
    migrate,
)
from tests.helpers import helsinki_assessment, hetu
from tests.processes import free_port, serving

TOKEN = mint_token(JWT_SECRET, sub="nurse", org="helsinki", scopes=list(SCOPES))
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


class Cluster:
    """A PostgreSQL cluster of the test's own (Debian's pg_createcluster), to stop and start."""

    def __init__(self) -> None:
        self.version = sorted(os.listdir("/etc/postgresql"))[-1]
        # Runs from several checkouts may share the machine: a cluster per process.
        self.name = f"segmentti_outage_{os.getpid()}"
        self.port = free_port()
        subprocess.run(["pg_dropcluster", "--stop", self.version, self.name], capture_output=True)
        self._run("pg_createcluster", self.version, self.name, "--port", str(self.port),
                  "--", "--auth=trust")  # fmt: skip
        self.start()

    def _run(self, *command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "start")

    def stop(self) -> None:
        self._run(
            "pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "stop",
            "-m", "fast",
        )  # fmt: skip

    def drop(self) -> None:
        self._run("pg_dropcluster", "--stop", self.version, self.name)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if os.geteuid() != 0 or not shutil.which("pg_createcluster"):
        pytest.skip(
            "stopping a PostgreSQL server of the test's own needs root and pg_createcluster"
        )
    own = Cluster()
    try:
        migrate(own.url)
        yield own
    finally:
        own.drop()


def environment(url: str) -> dict[str, str]:
    return {
        "SEGMENTTI_DATABASE_URL": url,
        "SEGMENTTI_JWT_SECRET": JWT_SECRET,
        "SEGMENTTI_DATA_KEY": DATA_KEY,
        "SEGMENTTI_INDEX_KEY": INDEX_KEY,
        "SEGMENTTI_RETRY_AFTER_SECONDS": "7",
        "SEGMENTTI_DB_TIMEOUT_SECONDS": "2",
    }


def submit(base: str, number: int) -> httpx.Response:
    body = helsinki_assessment(client={"hetu": hetu("010190", "-", 100 + number)})
    return httpx.post(f"{base}/v1/assessments", json=body, headers=HEADERS, timeout=30)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "7"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:segmentti:problem:service-unavailable"


def test_a_stopped_postgresql_is_a_503_and_the_same_process_recovers(
    cluster: Cluster, tmp_path: Path
) -> None:
    with serving(environment(cluster.url), tmp_path / "service.log", ROOT) as service:
        created = submit(service.url, 1)
        assert created.status_code == 201
        client_id = created.json()["client_id"]
        segment = f"{service.url}/v1/clients/{client_id}/segment"
        assert httpx.get(segment, headers=HEADERS).status_code == 200  # pools a direct connection

        cluster.stop()
        assert_unavailable(submit(service.url, 2))
        assert_unavailable(
            httpx.get(f"{service.url}/v1/clients/{client_id}/segment", headers=HEADERS)
        )
        ready = httpx.get(f"{service.url}/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unreachable"

        cluster.start()
        assert httpx.get(segment, headers=HEADERS).status_code == 200  # the very first after
        assert "database available again" in service.output()  # a read alone says so too
        assert submit(service.url, 3).status_code == 201
        assert httpx.get(f"{service.url}/readyz").status_code == 200

        cluster.stop()  # a fast restart: nothing asked while it was down
        cluster.start()
        assert httpx.get(f"{service.url}/readyz").status_code == 200  # pooled: from before
        assert service.process.poll() is None
    log = service.output()
    assert log.count("database unavailable") == 1, log
    assert "database available again" in log
    assert "Traceback" not in log and "ERROR" not in log


def test_a_service_started_before_its_database_waits_for_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.stop()
    try:
        with serving(environment(cluster.url), tmp_path / "service.log", ROOT) as service:
            assert httpx.get(f"{service.url}/readyz").status_code == 503
            assert_unavailable(submit(service.url, 4))
            cluster.start()
            assert httpx.get(f"{service.url}/readyz").status_code == 200
            assert submit(service.url, 5).status_code == 201
    finally:
        if not _running(cluster):
            cluster.start()
    assert "Traceback" not in service.output()


def _running(cluster: Cluster) -> bool:
    engine = create_sync_engine(cluster.url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def test_a_sqlite_file_locked_past_its_busy_timeout_is_a_503(tmp_path: Path, auth: Auth) -> None:
    from app.main import create_app

    path = tmp_path / "busy.db"
    migrate(f"sqlite:///{path}")
    settings = make_settings(
        tmp_path,
        database_url=f"sqlite:///{path}",
        sqlite_busy_timeout_ms=200,
        retry_after_seconds=7,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).is_success
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            refused = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
            assert time.monotonic() - started < 5
            ready = client.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.json()["database"] == "busy: another writer holds the lock"
            assert ready.headers["Retry-After"] == "7"
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert_unavailable(refused)
        assert client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).is_success
