"""Fixtures: both databases built by the Alembic migrations, one rolled-back transaction per
test, and an HTTP client with tokens for any tenant and scopes.

Every test that takes `client` (or `database`) runs twice: on SQLite always, and on PostgreSQL
when TEST_DATABASE_URL is set. Under CI, PostgreSQL is not optional.

The service is asynchronous. All tests share one event loop (`portal`), in which the app runs
and in which each test holds one connection inside a transaction: the app's units of work
become savepoints of it, and the test rolls the whole of it back at the end.
"""

import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from anyio.from_thread import BlockingPortal
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from app.auth import SCOPES, mint_token
from app.config import Settings
from app.db import Database, create_engine, create_sync_engine
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256"
DATA_KEY = Fernet.generate_key().decode()
INDEX_KEY = "test-index-key-long-enough-to-be-a-real-one"
BACKENDS = ["sqlite", "postgresql"]

Auth = Callable[..., dict[str, str]]


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not os.environ.get("TEST_DATABASE_URL"):
        raise pytest.UsageError("CI must set TEST_DATABASE_URL: PostgreSQL is not optional there")


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# This run's own databases: named so that runs sharing a server never meet, dropped at the end.
RUN = uuid.uuid4().hex[:8]
_created: list[str] = []


def _admin(statement: str) -> None:
    base = sa.make_url(os.environ["TEST_DATABASE_URL"])
    admin = create_sync_engine(base.render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(statement)
    finally:
        admin.dispose()


def fresh_postgres_database(name_hint: str) -> str:
    """A new, empty database on the TEST_DATABASE_URL server; returns its URL."""
    base = sa.make_url(os.environ["TEST_DATABASE_URL"])
    name = f"{base.database}_{RUN}_{_worker()}_{name_hint}"[:63]
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    _created.append(name)
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def _drop_this_runs_databases() -> Iterator[None]:
    yield
    for name in dict.fromkeys(_created):
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    """The event loop every test's app and database connection live in."""
    with anyio.from_thread.start_blocking_portal() as blocking_portal:
        yield blocking_portal


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One migrated database per backend for the whole run (tests roll back their work)."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'segmentti.db'}"}
    if os.environ.get("TEST_DATABASE_URL"):
        urls["postgresql"] = fresh_postgres_database("suite")
    for url in urls.values():
        migrate(url)
    return urls


@pytest.fixture(scope="session")
def engines(
    database_urls: dict[str, str], portal: BlockingPortal
) -> Iterator[dict[str, AsyncEngine]]:
    created = {name: create_engine(url) for name, url in database_urls.items()}
    yield created
    for engine in created.values():
        portal.call(engine.dispose)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    return name


@pytest.fixture
def engine(backend: str, engines: dict[str, AsyncEngine]) -> AsyncEngine:
    return engines[backend]


class TestDatabase(Database):
    """Units of work as savepoints of one connection whose transaction the test rolls back;
    the sync helpers let a test look at what was written, through the same connection."""

    __test__ = False

    def __init__(self, engine: AsyncEngine, connection: AsyncConnection, portal: BlockingPortal):
        super().__init__(engine)
        self.connection = connection
        self.portal = portal
        self._direct_savepoints: list[AsyncTransaction] = []

    async def begin(self, read_only: bool) -> tuple[AsyncConnection, AsyncTransaction]:
        return self.connection, await self.connection.begin_nested()

    async def release(self, connection: AsyncConnection) -> None:
        pass

    async def fetch_alone(
        self, statement: sa.Executable, parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """The same compiled statement on asyncpg, in a savepoint of the test's transaction
        (a direct connection would not see the test's uncommitted rows)."""
        async with self.connection.begin_nested():
            raw = (await self.connection.get_raw_connection()).driver_connection
            return await self.compiled(statement).fetch(raw, parameters)

    async def write_alone(
        self, statement: sa.Executable, parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """As `fetch_alone`: the compiled statement in a savepoint of the test's transaction."""
        return await self.fetch_alone(statement, parameters)

    async def begin_direct(self) -> Any:
        """A savepoint of the test's transaction, and its asyncpg connection: a unit that
        prefers a direct connection runs its statements on the driver as in production."""
        self._direct_savepoints.append(await self.connection.begin_nested())
        return (await self.connection.get_raw_connection()).driver_connection

    async def end_direct(self, connection: Any, *, commit: bool) -> None:
        savepoint = self._direct_savepoints.pop()
        await (savepoint.commit() if commit else savepoint.rollback())

    async def dispose(self) -> None:
        pass

    async def probe_write(self, timeout_ms: int = 1000) -> None:
        pass  # the test's own transaction holds the write lock

    def rows(self, sql: str, **parameters: Any) -> list[sa.Row[Any]]:
        async def run() -> list[sa.Row[Any]]:
            return list((await self.connection.execute(sa.text(sql), parameters)).all())

        return self.portal.call(run)

    def scalar(self, sql: str, **parameters: Any) -> Any:
        return self.rows(sql, **parameters)[0][0]

    def count(self, table: str) -> int:
        count: int = self.scalar(f"SELECT count(*) FROM {table}")
        return count


@pytest.fixture
def database(engine: AsyncEngine, portal: BlockingPortal) -> Iterator[TestDatabase]:
    connection = portal.call(engine.connect)
    transaction = portal.call(connection.begin)
    try:
        yield TestDatabase(engine, connection, portal)
    finally:
        portal.call(transaction.rollback)
        portal.call(connection.close)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'unused.db'}",
        "jwt_secret": JWT_SECRET,
        "data_key": DATA_KEY,
        "index_key": INDEX_KEY,
        "dev_secrets_file": tmp_path / "dev-secrets.json",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def build_app(settings: Settings, database: TestDatabase) -> FastAPI:
    """The app on the test's database, its units of work savepoints of the test's transaction."""
    return create_app(settings, database=database)


@contextmanager
def serve(app: FastAPI, portal: BlockingPortal) -> Iterator[TestClient]:
    """A test client for `app`, running it (lifespan included) in the shared event loop."""
    test_client = TestClient(app, raise_server_exceptions=False)
    test_client.portal = portal
    with portal.wrap_async_context_manager(app.router.lifespan_context(app)):
        yield test_client


Serve = Callable[[FastAPI], Any]


@pytest.fixture
def served(portal: BlockingPortal) -> Serve:
    """`with served(app) as client:` for a test that builds an app of its own."""
    return lambda app: serve(app, portal)


@pytest.fixture
def app(settings: Settings, database: TestDatabase) -> FastAPI:
    return build_app(settings, database)


@pytest.fixture
def client(app: FastAPI, portal: BlockingPortal) -> Iterator[TestClient]:
    with serve(app, portal) as test_client:
        yield test_client


@pytest.fixture
def auth() -> Auth:
    """Headers with a bearer token: `auth(org=…, scopes=[…], sub=…)`; all scopes by default."""

    def headers(
        org: str = "helsinki",
        scopes: list[str] | None = None,
        sub: str = "nurse@helsinki.example",
        **extra: str,
    ) -> dict[str, str]:
        token = mint_token(
            JWT_SECRET, sub=sub, org=org, scopes=list(SCOPES) if scopes is None else scopes
        )
        return {"Authorization": f"Bearer {token}", **extra}

    return headers


def new_uuid() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrated databases to copy for tests that need real commits (change feeds)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    made = {"sqlite": f"sqlite:///{path}"}
    if os.environ.get("TEST_DATABASE_URL"):
        made["postgresql"] = fresh_postgres_database("template")
    for url in made.values():
        migrate(url)
    return made


@pytest.fixture
def committed_url(backend: str, templates: dict[str, str], tmp_path: Path) -> str:
    """A database of the test's own, copied from the migrated template: every request
    commits as in production (a change feed reads by commit order, which one rolled-back
    transaction cannot show)."""
    if backend == "sqlite":
        source = sa.make_url(templates["sqlite"]).database
        assert source
        target = tmp_path / "committed.db"
        shutil.copy(source, target)
        return f"sqlite:///{target}"
    base = sa.make_url(templates["postgresql"])
    name = f"{base.database}_{uuid.uuid4().hex[:6]}"[:63]
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"')
    _created.append(name)
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def committed_client(committed_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """A client of the app on `committed_url`, as deployed: one unit of work per request."""
    app = create_app(make_settings(tmp_path, database_url=committed_url))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
