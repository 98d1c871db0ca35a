"""What the gateway and an operator meet at the edge: headers on every response, the request
id, the caller's address behind a trusted proxy, and a shutdown that lets requests finish."""

import json
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.auth import SCOPES, mint_token
from app.db import create_sync_engine
from tests.conftest import (
    DATA_KEY,
    INDEX_KEY,
    JWT_SECRET,
    ROOT,
    Auth,
    fresh_postgres_database,
    migrate,
)
from tests.helpers import helsinki_assessment, hetu
from tests.processes import serving

HEADERS = {
    "Authorization": "Bearer "
    + mint_token(JWT_SECRET, sub="nurse", org="helsinki", scopes=list(SCOPES))
}


def test_every_response_is_kept_out_of_caches_and_sniffing(client: TestClient, auth: Auth) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
    segment = client.get(f"/v1/clients/{created.json()['client_id']}/segment", headers=auth())
    problem = client.get("/v1/clients/4f1f4a4e-2d4c-4b0e-9a53-0e9f7c1d2b11/segment")
    for response in (created, segment, problem, client.get("/healthz")):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("gw-7f3a.42:1", True),
        ("131052-308T", False),  # an identity code is never logged, not even as an id
        ("two words", False),
        ("x" * 129, False),
    ],
)
def test_the_gateways_request_id_is_echoed_when_it_is_a_plain_token(
    client: TestClient, given: str, kept: bool
) -> None:
    echoed = client.get("/healthz", headers={"X-Request-ID": given}).headers["x-request-id"]
    assert (echoed == given) is kept
    assert echoed


def test_a_request_without_an_id_gets_one(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert len(first) == 32 and first != second


def environment(url: str, **extra: str) -> dict[str, str]:
    return {
        "SEGMENTTI_DATABASE_URL": url,
        "SEGMENTTI_JWT_SECRET": JWT_SECRET,
        "SEGMENTTI_DATA_KEY": DATA_KEY,
        "SEGMENTTI_INDEX_KEY": INDEX_KEY,
        **extra,
    }


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'edge.db'}"
    migrate(url)
    return url


@pytest.mark.parametrize(
    ("trusted", "logged"), [("127.0.0.1", "203.0.113.9"), ("10.1.2.3", "127.0.0.1")]
)
def test_the_logged_address_is_the_callers_only_through_a_trusted_proxy(
    tmp_path: Path, sqlite_url: str, trusted: str, logged: str
) -> None:
    env = environment(sqlite_url, SEGMENTTI_FORWARDED_ALLOW_IPS=trusted)
    with serving(env, tmp_path / "service.log", ROOT) as service:
        response = httpx.get(
            f"{service.url}/healthz",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "gw-1"},
        )
        assert "server" not in response.headers
    assert "GET /healthz 200" in service.output()
    assert f"request_id=gw-1 client={logged}" in service.output()


@pytest.fixture
def held_client(backend: str, tmp_path: Path) -> tuple[str, str]:
    """A database and an identity code the service has registered."""
    url = (
        f"sqlite:///{tmp_path / 'shutdown.db'}"
        if backend == "sqlite"
        else fresh_postgres_database("shutdown")
    )
    migrate(url)
    return url, hetu("020202", "-", 345)


def test_sigterm_lets_a_request_in_flight_finish_before_the_process_exits(
    held_client: tuple[str, str], tmp_path: Path
) -> None:
    url, person = held_client
    body = helsinki_assessment(client={"hetu": person})
    env = environment(url, SEGMENTTI_SHUTDOWN_GRACE_SECONDS="15")
    with serving(env, tmp_path / "service.log", ROOT) as service:
        first = httpx.post(f"{service.url}/v1/assessments", json=body, headers=HEADERS)
        assert first.status_code == 201
        release = hold_the_clients_lock(url, first.json()["client_id"])
        answers: list[httpx.Response] = []
        slow = threading.Thread(
            target=lambda: answers.append(
                httpx.post(f"{service.url}/v1/assessments", json=body, headers=HEADERS, timeout=30)
            )
        )
        slow.start()
        time.sleep(0.5)  # the request is in flight, waiting on the lock
        service.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert service.process.poll() is None, "exited with a request in flight"
        release()
        slow.join(timeout=30)
        # Uvicorn shuts down, then re-raises SIGTERM so the exit status says why it stopped.
        assert service.process.wait(timeout=20) in (0, -signal.SIGTERM)
    assert [a.status_code for a in answers] == [201]
    assert "Waiting for connections to close" in service.output() or "Shutting down" in (
        service.output()
    )


def hold_the_clients_lock(url: str, client_id: str) -> Callable[[], None]:
    """Take the lock a write for this client needs; returns what releases it."""
    if url.startswith("sqlite"):
        path = sa.make_url(url).database
        assert path
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")

        def release_sqlite() -> None:
            holder.execute("ROLLBACK")
            holder.close()

        return release_sqlite
    engine = create_sync_engine(url)
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(
        sa.text("SELECT id FROM client WHERE id = :id FOR UPDATE"), {"id": client_id}
    )

    def release_postgresql() -> None:
        transaction.rollback()
        connection.close()
        engine.dispose()

    return release_postgresql


def exchange(service_url: str, request_bytes: bytes) -> tuple[bytes, bytes]:
    """Send raw bytes, read until the server closes; the answer's head and body."""
    host, port = service_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request_bytes)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


# Just over the limit of the head (64 KiB), all of it sent before the server answers.
OVERSIZED = b"a" * (66 * 1024)


@pytest.mark.parametrize(
    ("request_bytes", "status", "slug"),
    [
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + OVERSIZED + b"\r\n\r\n",
            431,
            "request-head",
        ),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Purpose: a\x01b\r\n\r\n", 400, "malformed"),
        (
            b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Content-Length: 3\r\n\r\n{}",
            400,
            "malformed",
        ),
    ],
    ids=["headers too large", "control character", "two lengths"],
)
def test_a_request_the_server_cannot_parse_is_refused_as_a_problem(
    tmp_path: Path, sqlite_url: str, request_bytes: bytes, status: int, slug: str
) -> None:
    with serving(environment(sqlite_url), tmp_path / "service.log", ROOT) as service:
        head, body = exchange(service.url, request_bytes)
        # A body is not a head: a large one in the same packets as its head is read as ever.
        large = {"client": {"hetu": "131052-308T"}, "details": {"note": "x" * 500_000}}
        posted = httpx.post(f"{service.url}/v1/assessments", json=large, headers=HEADERS)
        assert posted.status_code == 422, posted.text  # the app read it (no model given)
    assert head.startswith(f"HTTP/1.1 {status}".encode())
    assert b"content-type: application/problem+json" in head.lower()
    assert b"x-content-type-options: nosniff" in head.lower()
    assert json.loads(body)["type"].startswith(f"urn:segmentti:problem:{slug}")
