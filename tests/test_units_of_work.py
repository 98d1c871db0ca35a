"""The unit of work: who commits, what a read may do, and what a stream holds.

These run on a database of their own per backend (not the rolled-back test transaction):
what they check is how real transactions begin, lock and commit.
"""

import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from anyio.from_thread import BlockingPortal
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from app.audit.models import access_log
from app.db import Database, after_key, create_engine, utc_now
from app.deps import SegmentsReader, WriteUnit
from app.main import create_app
from tests.conftest import Auth, fresh_postgres_database, make_settings, migrate


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> str:
    url = (
        f"sqlite:///{tmp_path / 'units.db'}"
        if backend == "sqlite"
        else fresh_postgres_database("units")
    )
    migrate(url)
    return url


@pytest.fixture
def real_database(database_url: str, portal: BlockingPortal) -> Iterator[Database]:
    database = Database(create_engine(database_url))
    yield database
    portal.call(database.dispose)


def log_row(operation: str) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "tenant": "helsinki",
        "at": utc_now(),
        "actor": "test",
        "client_id": None,
        "operation": operation,
        "purpose": None,
        "outcome": "ok",
    }


def count(portal: BlockingPortal, database: Database, operation: str) -> int:
    async def run() -> int:
        async with database.engine.connect() as connection:
            query = sa.select(sa.func.count()).where(access_log.c.operation == operation)
            return int((await connection.execute(query)).scalar_one())

    return portal.call(run)


def test_a_read_holds_no_write_lock_on_sqlite_and_logs_after_it(
    backend: str, database_url: str, real_database: Database, portal: BlockingPortal
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    path = sa.make_url(database_url).database
    assert path is not None

    async def read_while_another_writes() -> None:
        unit = real_database.unit(read_only=True)
        try:
            await unit.execute(sa.select(sa.func.count()).select_from(access_log))
            unit.defer(access_log, log_row("read_in_test"))
            # The read transaction is open; another writer gets the lock without waiting.
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            other.close()
            await unit.commit()
        finally:
            await unit.close()

    portal.call(read_while_another_writes)
    assert count(portal, real_database, "read_in_test") == 1


def test_a_read_is_read_only_on_postgresql_and_its_log_line_still_commits(
    backend: str, real_database: Database, portal: BlockingPortal
) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL's read-only transactions")

    async def write_in_a_read() -> str:
        unit = real_database.unit(read_only=True)
        try:
            await unit.execute(sa.insert(access_log).values(log_row("written_in_read")))
        except sa.exc.DBAPIError as exc:
            return str(exc.orig)
        finally:
            await unit.close()
        return "written"

    assert "read-only transaction" in portal.call(write_in_a_read)

    async def logged_read() -> None:
        unit = real_database.unit(read_only=True)
        try:
            await unit.execute(sa.select(sa.func.count()).select_from(access_log))
            unit.defer(access_log, log_row("read_in_test"))
            await unit.commit()
        finally:
            await unit.close()

    portal.call(logged_read)
    assert count(portal, real_database, "written_in_read") == 0
    assert count(portal, real_database, "read_in_test") == 1


def test_rolled_back_work_takes_its_deferred_log_lines_with_it(
    real_database: Database, portal: BlockingPortal
) -> None:
    async def roll_back() -> None:
        unit = real_database.unit()
        try:
            unit.defer(access_log, log_row("rolled_back"))
            await unit.execute(sa.select(1))
            await unit.rollback()
        finally:
            await unit.close()

    portal.call(roll_back)
    assert count(portal, real_database, "rolled_back") == 0


def test_a_stream_yields_every_row_in_batches_from_its_own_connection(
    real_database: Database, portal: BlockingPortal
) -> None:
    async def fill_and_stream() -> list[str]:
        unit = real_database.unit()
        try:
            await unit.execute(sa.insert(access_log), [log_row(f"op-{i:03d}") for i in range(250)])
            await unit.commit()
        finally:
            await unit.close()
        statement = (
            sa.select(access_log.c.operation)
            .where(access_log.c.operation.like("op-%"))
            .order_by(access_log.c.operation)
        )
        rows: AsyncIterator[sa.Row[tuple[str]]] = real_database.stream(statement, batch=40)
        return [row.operation async for row in rows]

    assert portal.call(fill_and_stream) == [f"op-{i:03d}" for i in range(250)]


def test_no_response_is_sent_before_its_commit(
    tmp_path: Path, database_url: str, auth: Auth
) -> None:
    """A write whose commit fails is answered with an error, never a 2xx."""
    from app.routing import ServiceRoute

    router = APIRouter(route_class=ServiceRoute)

    @router.post("/v1/test-commit", status_code=201)
    async def fails_at_commit(principal: SegmentsReader, unit: WriteUnit) -> dict[str, str]:
        row = log_row("fails_at_commit")
        row["tenant"] = None  # NOT NULL: the insert at commit fails
        unit.defer(access_log, row)
        return {"status": "created"}

    app: FastAPI = create_app(make_settings(tmp_path, database_url=database_url))
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/test-commit", headers=auth())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"


def test_keyset_pages_cover_every_row_once(real_database: Database, portal: BlockingPortal) -> None:
    async def pages() -> list[list[str]]:
        unit = real_database.unit()
        try:
            await unit.execute(sa.insert(access_log), [log_row(f"page-{i:02d}") for i in range(7)])
            await unit.commit()
        finally:
            await unit.close()
        found: list[list[str]] = []
        after: tuple[str] | None = None
        while True:
            query = sa.select(access_log.c.operation).where(access_log.c.operation.like("page-%"))
            query = after_key(query, [access_log.c.operation], after).limit(3)
            page = [row.operation async for row in real_database.stream(query)]
            if not page:
                return found
            found.append(page)
            after = (page[-1],)

    assert portal.call(pages) == [
        ["page-00", "page-01", "page-02"],
        ["page-03", "page-04", "page-05"],
        ["page-06"],
    ]


def test_a_unit_preferring_a_direct_connection_commits_rolls_back_and_refuses_sqlalchemy(
    backend: str, real_database: Database, portal: BlockingPortal
) -> None:
    """`Unit.prefer_direct`: on PostgreSQL the transaction begins on a direct connection —
    what it writes is committed or rolled back as one, a statement through SQLAlchemy is
    refused until it leaves, and a failed transaction never reports a commit. Elsewhere
    the unit is as any other."""
    insert = sa.insert(access_log)

    async def write(operation: str, *, leave: bool = False, fail: bool = False) -> None:
        unit = real_database.unit()
        unit.prefer_direct()
        try:
            await unit.fetch_many(insert, [log_row(operation)])
            if backend == "postgresql":
                with pytest.raises(RuntimeError, match="direct connection"):
                    await unit.execute(sa.select(sa.literal(1)))
            if leave:
                await unit.leave_direct()
                await unit.execute(insert, log_row(f"{operation} after"))
            if fail:
                with contextlib.suppress(Exception):
                    await unit.fetch(insert, {**log_row(operation), "tenant": None})
            await unit.commit()
        finally:
            await unit.close()

    portal.call(write, "direct")
    assert count(portal, real_database, "direct") == 1
    portal.call(lambda: write("left", leave=True))
    # Only what began on a direct connection is rolled back (SQLite's unit never did).
    assert count(portal, real_database, "left") == (0 if backend == "postgresql" else 1)
    assert count(portal, real_database, "left after") == 1
    if backend == "postgresql":
        with pytest.raises(RuntimeError, match="did not commit"):
            portal.call(lambda: write("failed", fail=True))
        assert count(portal, real_database, "failed") == 0
