"""Fixtures: both databases built by the Alembic migrations, one rolled-back transaction per
test, and an HTTP client with tokens for any tenant and scopes.

Every test that takes `client` (or `session`) runs twice: on SQLite always, and on PostgreSQL
when TEST_DATABASE_URL is set. Under CI, PostgreSQL is not optional.
"""

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth import SCOPES, mint_token
from app.config import Settings
from app.db import create_db_engine, get_session
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256"
DATA_KEY = Fernet.generate_key().decode()
INDEX_KEY = "test-index-key"
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


def fresh_postgres_database(name_hint: str) -> str:
    """A new, empty database on the TEST_DATABASE_URL server; returns its URL."""
    base = sa.make_url(os.environ["TEST_DATABASE_URL"])
    name = f"{base.database}_{name_hint}_{_worker()}"[:63]
    admin = create_db_engine(base.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


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
def engines(database_urls: dict[str, str]) -> Iterator[dict[str, sa.Engine]]:
    created = {name: create_db_engine(url) for name, url in database_urls.items()}
    yield created
    for engine in created.values():
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    return name


@pytest.fixture
def engine(backend: str, engines: dict[str, sa.Engine]) -> sa.Engine:
    return engines[backend]


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside a transaction that is rolled back."""
    connection = engine.connect()
    transaction = connection.begin()
    db_session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield db_session
    db_session.close()
    transaction.rollback()
    connection.close()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": "sqlite:///unused.db",
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


def build_app(settings: Settings, engine: sa.Engine, session: Session) -> FastAPI:
    """The app on the test's database, its requests sharing the test's rolled-back session."""
    application = create_app(settings)
    application.state.engine = engine
    application.dependency_overrides[get_session] = lambda: session
    return application


@pytest.fixture
def app(settings: Settings, engine: sa.Engine, session: Session) -> FastAPI:
    return build_app(settings, engine, session)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
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
