"""Engine, session dependency, the column types every table shares, and the clock.

SQLite is the embedded default and PostgreSQL production; both get the same behaviour from
here: timezone-aware UTC timestamps, UUID keys, a fixed constraint naming convention, and
write transactions that serialise where they must.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from fastapi import Depends, Request
from sqlalchemy.engine import Dialect, Engine
from sqlmodel import Session, SQLModel

from app.config import Settings

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, on PostgreSQL and on SQLite alike.

    SQLite has no time zone type and hands back naive values; normalising at the column keeps
    every comparison in the service between aware datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Execution option for a connection that only reads (SQLite: no write lock at BEGIN).
READ_ONLY = "segmentti_read_only"


def _configure_sqlite(engine: Engine) -> None:
    """WAL with a busy timeout, foreign keys on, and `BEGIN IMMEDIATE` for every transaction.

    Nearly every transaction here writes (reads of client data write the access log), so taking
    the write lock at BEGIN avoids the deadlock-prone upgrade from a read lock. The driver's own
    transaction handling is switched off so that SAVEPOINTs work (SQLAlchemy's pysqlite recipe).
    `synchronous=FULL`: a committed assessment must survive a power loss, not only a crash; the
    write volume of a segmentation service is small enough to pay for it.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_db_engine(url: str, settings: Settings | None = None) -> Engine:
    url_obj = sa.make_url(url)
    if url_obj.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            url_obj, connect_args={"check_same_thread": False}, hide_parameters=True
        )
        _configure_sqlite(engine)
        return engine
    if url_obj.drivername in ("postgresql", "postgres"):
        url_obj = url_obj.set(drivername="postgresql+psycopg")
    pool_size = settings.db_pool_size if settings else 5
    max_overflow = settings.db_max_overflow if settings else 10
    # hide_parameters: a driver error's message must never carry a statement's values.
    return sa.create_engine(
        url_obj,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        hide_parameters=True,
    )


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; services commit explicitly before they return."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


JSONDocument = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
