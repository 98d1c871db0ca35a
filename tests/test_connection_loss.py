"""PostgreSQL ends the service's connections while assessments keep coming in (an operator's
pg_terminate_backend, a failover: SQLSTATE 57P01 admin_shutdown). Every caller gets its
assessment stored or a 503 with Retry-After — never a 500 — nothing is half-written, and the
same process serves again at once.

Only the connections to the test's own database are ended: the server is shared."""

import contextlib
import os
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncTransaction

from app.db import Direct, create_sync_engine
from app.main import create_app
from tests.conftest import ROOT, Auth, fresh_postgres_database, make_settings, migrate
from tests.helpers import helsinki_assessment, hetu
from tests.processes import serving
from tests.test_outage import HEADERS, assert_unavailable, environment, submit

SUBMITTERS = 4


@pytest.fixture
def url() -> str:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("ending PostgreSQL connections needs TEST_DATABASE_URL")
    own = fresh_postgres_database("connection_loss")
    migrate(own)
    return own


@pytest.fixture
def admin(url: str) -> Iterator[sa.Engine]:
    """A connection of the test's own to its database, to end the others from."""
    engine = create_sync_engine(url)
    yield engine.execution_options(isolation_level="AUTOCOMMIT")
    engine.dispose()


def end_the_services_connections(admin: sa.Engine) -> int:
    """pg_terminate_backend on every other connection to this test's own database."""
    with admin.connect() as connection:
        ended = connection.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    return int(ended)


def test_connections_ended_under_load_are_503s_never_500s_nothing_half_written(
    url: str, admin: sa.Engine, tmp_path: Path
) -> None:
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def keep_submitting(submitter: int) -> None:
        for number in range(submitter * 150, submitter * 150 + 150):
            if stop.is_set():
                return
            answers.append(submit(service.url, number))

    reads: list[httpx.Response] = []

    def keep_reading(path: str) -> None:
        while not stop.is_set():
            reads.append(httpx.get(path, headers=HEADERS, timeout=30))

    with serving(environment(url), tmp_path / "service.log", ROOT) as service:
        first = submit(service.url, 780)
        known = first.json()["client_id"]
        submitters = [
            threading.Thread(target=keep_submitting, args=(n,)) for n in range(SUBMITTERS)
        ]
        submitters.append(
            threading.Thread(
                target=keep_reading, args=(f"{service.url}/v1/clients/{known}/segment",)
            )
        )
        for submitter in submitters:
            submitter.start()
        try:
            deadline = time.monotonic() + 30
            while len(answers) < 10 and time.monotonic() < deadline:
                time.sleep(0.01)  # the service is busy before its connections are ended
            ended = 0
            for _ in range(8):
                ended += end_the_services_connections(admin)
                time.sleep(0.1)
            time.sleep(0.2)
        finally:
            stop.set()
            for submitter in submitters:
                submitter.join()
        assert ended > 0

        after = submit(service.url, 700)  # the first request once the connections are gone
        assert after.status_code == 201, after.text
        read = f"{service.url}/v1/clients/{after.json()['client_id']}/segment"
        assert httpx.get(read, headers=HEADERS).status_code == 200
        assert httpx.get(f"{service.url}/readyz").status_code == 200
        lookup = httpx.post(
            f"{service.url}/v1/clients/lookup",
            json={"hetu": hetu("010190", "-", 800)},
            headers=HEADERS,
        )
        assert lookup.status_code == 200

    assert {a.status_code for a in answers} <= {201, 503}, [
        a.text for a in answers if a.status_code != 201
    ]
    for refused in (a for a in answers if a.status_code == 503):
        assert_unavailable(refused)
    assert reads and {r.status_code for r in reads} <= {200, 503}, service.output()
    written = [first, *answers, after]
    stored = [a.json()["assessment_id"] for a in written if a.status_code == 201]
    assert stored_assessments(url) == sorted(stored)
    log = service.output()
    assert "Traceback" not in log and " 500 " not in log, log


def stored_assessments(url: str) -> list[str]:
    """Every assessment in the database — each of a client of its own, written with its client
    and its access-log line or not at all."""
    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:

            def count(sql: str) -> int:
                return int(connection.execute(sa.text(sql)).scalar_one())

            assert (
                count("SELECT count(*) FROM assessment")
                == count("SELECT count(*) FROM client")
                == count("SELECT count(*) FROM access_log WHERE operation = 'submit_assessment'")
            )
            ids = connection.execute(sa.text("SELECT id::text FROM assessment ORDER BY id"))
            return list(ids.scalars())
    finally:
        engine.dispose()


class StartingServer:
    """The test's own database behind a port that answers, until `up`, as a PostgreSQL server
    that is starting up answers every new connection (FATAL, SQLSTATE 57P03 cannot_connect_now),
    and once `up` passes connections through to the real server."""

    SSL_OR_GSS_REQUEST = (80877103, 80877104)

    def __init__(self, target: sa.URL) -> None:
        self.target = (target.host or "127.0.0.1", target.port or 5432)
        self.up = False
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, caller: socket.socket) -> None:
        startup = self._startup_message(caller)
        if not self.up:
            fields = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0"
            caller.sendall(b"E" + struct.pack("!i", 4 + len(fields)) + fields)
            return
        with socket.create_connection(self.target) as server:
            server.sendall(startup)
            back = threading.Thread(target=self._pipe, args=(server, caller), daemon=True)
            back.start()
            self._pipe(caller, server)
            back.join()

    def _startup_message(self, caller: socket.socket) -> bytes:
        while True:
            length, code = struct.unpack("!ii", self._read(caller, 8))
            if code not in self.SSL_OR_GSS_REQUEST:
                return struct.pack("!ii", length, code) + self._read(caller, length - 8)
            caller.sendall(b"N")  # no encryption: the startup message follows in the clear

    @staticmethod
    def _read(sock: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed during the startup")
            data += chunk
        return data

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def starting(url: str) -> Iterator[tuple[StartingServer, str]]:
    server = StartingServer(sa.make_url(url))
    try:
        through = sa.make_url(url).set(host="127.0.0.1", port=server.port)
        yield server, through.render_as_string(hide_password=False)
    finally:
        server.close()


def test_a_postgresql_still_starting_up_is_a_503_until_it_is_up(
    starting: tuple[StartingServer, str], tmp_path: Path, auth: Auth
) -> None:
    server, url = starting
    settings = make_settings(
        tmp_path, database_url=url, retry_after_seconds=7, db_timeout_seconds=2
    )
    body = helsinki_assessment(client={"hetu": hetu("010190", "-", 801)})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert_unavailable(client.post("/v1/assessments", json=body, headers=auth()))
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unreachable"

        server.up = True
        created = client.post("/v1/assessments", json=body, headers=auth())
        assert created.status_code == 201, created.text
        assert client.get("/readyz").status_code == 200


def test_a_reply_lost_after_the_one_call_committed_is_a_503_that_says_it_may_be_recorded(
    url: str, admin: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submission's one call commits on its own: a connection that breaks under it may
    have broken after the commit. The call is never sent again, and the 503 does not claim
    that nothing was written."""
    sent: list[str] = []
    fetch = Direct.fetch

    async def committed_then_broke(self: Direct, connection: Any, parameters: Any) -> Any:
        rows = await fetch(self, connection, parameters)
        if "segmentti_submit" in self.sql:
            sent.append(self.sql)
            raise asyncpg.exceptions.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            )
        return rows

    monkeypatch.setattr(Direct, "fetch", committed_then_broke)
    body = helsinki_assessment(client={"hetu": hetu("010190", "-", 777)})
    settings = make_settings(tmp_path, database_url=url, retry_after_seconds=7)
    with TestClient(create_app(settings)) as service:
        response = service.post("/v1/assessments", json=body, headers=HEADERS)

    assert_unavailable(response)  # type: ignore[arg-type]
    assert "may have been recorded" in response.json()["detail"]
    assert len(sent) == 1
    with admin.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM assessment")).scalar_one() == 1


def test_a_commit_whose_answer_is_lost_is_a_503_that_says_it_may_be_recorded(
    url: str, admin: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only the one call: a transaction's COMMIT that reached the server but whose answer
    was lost — through SQLAlchemy (a consent recorded) or straight on asyncpg (an assessment
    with its consent) — may have committed, and the 503 says so."""
    settings = make_settings(tmp_path, database_url=url, retry_after_seconds=7)
    person = {"hetu": hetu("010190", "-", 778)}
    commit = AsyncTransaction.commit
    execute = asyncpg.Connection.execute

    async def committed_then_broke(self: AsyncTransaction) -> None:
        await commit(self)
        raise sa.exc.InterfaceError("COMMIT", {}, ConnectionError("connection closed"))

    async def driver_committed_then_broke(self: asyncpg.Connection, query: str, *a: Any) -> Any:
        status = await execute(self, query, *a)
        if query == "COMMIT":
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
        return status

    with TestClient(create_app(settings)) as service:
        created = service.post(
            "/v1/assessments", json=helsinki_assessment(client=person), headers=HEADERS
        )
        assert created.status_code == 201, created.text
        client_id = created.json()["client_id"]
        with monkeypatch.context() as patched:
            patched.setattr(AsyncTransaction, "commit", committed_then_broke)
            consent = service.post(
                f"/v1/clients/{client_id}/consents",
                json={"register": "health", "given": True},
                headers=HEADERS,
            )
        with monkeypatch.context() as patched:
            patched.setattr(asyncpg.Connection, "execute", driver_committed_then_broke)
            with_consent = service.post(
                "/v1/assessments",
                json={**helsinki_assessment(client=person), "consent": {"health_register": False}},
                headers=HEADERS,
            )

    for response in (consent, with_consent):
        assert_unavailable(response)  # type: ignore[arg-type]
        assert "may have been recorded" in response.json()["detail"], response.text
    with admin.connect() as connection:  # and both were
        assert connection.execute(sa.text("SELECT count(*) FROM consent_event")).scalar_one() == 2
        assert connection.execute(sa.text("SELECT count(*) FROM assessment")).scalar_one() == 2
