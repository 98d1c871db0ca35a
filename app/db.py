"""Engines, the column types every table shares, and the unit of work a request runs in.

SQLite is the embedded default and PostgreSQL production; both get the same behaviour from
here: timezone-aware UTC timestamps, UUID keys, a fixed constraint naming convention, and
transactions that begin the same way whoever asks for one.

A request's database work is one `Unit`. Services run their statements on it and never
commit; the route that owns the request commits the unit before the response is sent
(app/routing.py), or rolls it back. Rows a unit is told to `defer` (the access log) are written
by that commit: in the same transaction for a write, and for a read in a short transaction of
their own right after the read — so a read holds no write lock on SQLite and runs read-only on
PostgreSQL, yet no data leaves without its log line committed. The segment read is the one
exception: on PostgreSQL one statement reads and writes its log line (`fetch_alone`).

On PostgreSQL, statements built once may skip SQLAlchemy's execution layer: `Unit.fetch` runs
them on the asyncpg connection under the unit's transaction, and `Database.fetch_alone` as a
transaction of their own on a small pool of direct connections (`Direct`: compiled once, with
the compiler's own parameter processing). A unit whose work is only such statements (a
submission) may begin its transaction on one of those direct connections too
(`Unit.prefer_direct`).
"""

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import SQLModel

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


JSONDocument = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

# SQLite's order of committed changes: one counter, bumped by each transaction that changes
# what exports read (PostgreSQL uses its transaction ids instead; see `Unit.change_stamp`).
change_counter = sa.Table(
    "change_counter",
    SQLModel.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger, nullable=False),
)
# A PostgreSQL transaction's id as a number: values below `pg_snapshot_xmin(…)` are settled.
PG_TRANSACTION_ID = sa.cast(sa.cast(sa.func.pg_current_xact_id(), sa.Text), sa.BigInteger)

# Deferred rows per statement (one executemany).
DEFERRED_BATCH = 1000

# Execution option of a connection whose transactions only read (SQLite: no write lock at BEGIN).
READ_ONLY = "segmentti_read_only"
_READ_ONLY_OPTIONS = {READ_ONLY: True, "postgresql_readonly": True}
_WRITE_OPTIONS = {READ_ONLY: False, "postgresql_readonly": False}


def _url(url: str, sqlite_driver: str, postgresql_driver: str) -> sa.URL:
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername=f"sqlite+{sqlite_driver}" if sqlite_driver else "sqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername=f"postgresql+{postgresql_driver}")
    raise ValueError("SEGMENTTI_DATABASE_URL must be a sqlite:// or postgresql:// URL")


def async_url(url: str) -> sa.URL:
    """The service's own driver: asyncpg serves requests measurably faster than psycopg's
    async mode (bench figures in the README); aiosqlite keeps SQLite off the event loop."""
    return _url(url, "aiosqlite", "asyncpg")


def sync_url(url: str) -> sa.URL:
    """Migrations and batch commands run synchronously, with psycopg 3 on PostgreSQL."""
    return _url(url, "", "psycopg")


def _configure_sqlite(engine: sa.Engine, busy_timeout_ms: int) -> None:
    """Busy timeout before WAL (switching needs the lock), foreign keys on, and `BEGIN
    IMMEDIATE` for every transaction that may write.

    A write transaction takes the write lock at BEGIN: upgrading a read lock later fails at
    once, without waiting, when another writer committed in between. The driver's own
    transaction handling is switched off so that SAVEPOINTs work (SQLAlchemy's pysqlite
    recipe). `synchronous=FULL`: a committed assessment must survive a power loss, not only a
    crash; the write volume of a segmentation service is small enough to pay for it.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_engine(
    url: str,
    *,
    pool_size: int = 20,
    max_overflow: int = 0,
    timeout_seconds: float = 5,
    sqlite_busy_timeout_ms: int = 5000,
) -> AsyncEngine:
    """The service's engine. No ping on checkout (it would cost a round trip per request): a
    connection the server dropped fails its first statement, the pool is invalidated and the
    unit begins again on a new connection (`Unit.execute`). A database that does not answer
    within `timeout_seconds` (connecting, or waiting for a pooled connection), or a SQLite
    file locked past its busy timeout, is answered 503 (routing.py)."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = _create_async_engine(target, hide_parameters=True)
        _configure_sqlite(engine.sync_engine, sqlite_busy_timeout_ms)
        return engine
    # hide_parameters: a driver error's message must never carry a statement's values.
    return _create_async_engine(
        target,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=timeout_seconds,
        connect_args={"timeout": timeout_seconds},
        hide_parameters=True,
    )


def create_sync_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(sync_url(url), hide_parameters=True)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms=30_000)
    return engine


Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class Unit:
    """One request's database work: a transaction begun on first use, never committed by the
    services that use it. See the module docstring for who commits and when."""

    def __init__(self, database: "Database", *, read_only: bool) -> None:
        self.database = database
        self.read_only = read_only
        self._connection: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None
        self._deferred: list[tuple[sa.Table, dict[str, Any]]] = []
        self._stamp: int | None = None
        # PostgreSQL: the asyncpg connection under the unit's transaction, once it has begun.
        self._driver: Any = None
        # PostgreSQL: whether the transaction may begin, or has begun, on a direct connection
        # (`prefer_direct`).
        self._direct_wanted = False
        self._on_direct = False
        # Whether the unit reached the database at all (a unit opened and never used did not).
        self.touched = False

    @property
    def dialect(self) -> str:
        return self.database.dialect

    async def change_stamp(self) -> sa.ColumnElement[int] | int:
        """What rows this transaction writes for exports are stamped with (`change_tx`).

        Stamps order changes by transaction, so that an export can read exactly what was
        committed below a horizon no open transaction can still fill: PostgreSQL's transaction
        id (read against `pg_snapshot_xmin`), or on SQLite — one writer at a time, committing in
        order — a counter this transaction bumps.
        """
        if self.dialect == "postgresql":
            return PG_TRANSACTION_ID
        if self._stamp is None:
            bump = (
                sa.update(change_counter)
                .values(value=change_counter.c.value + 1)
                .returning(change_counter.c.value)
            )
            self._stamp = int((await self.execute(bump)).scalar_one())
        return self._stamp

    async def connection(self) -> AsyncConnection:
        if self._transaction is None:
            self.touched = True
            self._connection, self._transaction = await self.database.begin(self.read_only)
        assert self._connection is not None
        return self._connection

    async def execute(
        self, statement: sa.Executable, parameters: "Parameters" = None
    ) -> sa.CursorResult[Any]:
        """`parameters`: one row's (a mapping) or many rows' (a sequence of mappings)."""
        if self._on_direct:
            raise RuntimeError(
                "a statement through SQLAlchemy in a unit begun on a direct connection "
                "(leave_direct first)"
            )
        first = self._transaction is None
        try:
            return await self._execute(await self.connection(), statement, parameters)
        except sa.exc.DBAPIError as exc:
            if not (first and exc.connection_invalidated):
                raise
        # The pooled connection had died (the database restarted) before this unit did
        # anything: begin again on a new one, so a recovered database serves at once.
        await self._discard()
        return await self._execute(await self.connection(), statement, parameters)

    @staticmethod
    async def _execute(
        connection: AsyncConnection,
        statement: sa.Executable,
        parameters: "Parameters",
    ) -> sa.CursorResult[Any]:
        if parameters is None:
            return await connection.execute(statement)
        if isinstance(parameters, Mapping):
            return await connection.execute(statement, dict(parameters))
        return await connection.execute(statement, list(parameters))

    async def _discard(self) -> None:
        self._transaction = None
        self._stamp = None
        self._driver = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await self.database.release(connection)

    async def fetch(
        self, statement: sa.Executable, parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """A statement built once (see `prebuilt`), run in the unit's transaction; its rows
        (none for a statement that returns none) as dicts.

        On PostgreSQL, once the transaction has begun, the statement goes straight to
        asyncpg on the transaction's own connection: through SQLAlchemy each statement of a
        write cost about three times its driver's time (issue 10). The first statement of a
        unit goes through SQLAlchemy, which begins the transaction — and begins it again on
        a fresh connection if the pooled one had died.
        """
        if self.dialect == "postgresql" and self._driver is None:
            await self._begin_on_driver()
        if self._driver is None:
            result = await self.execute(statement, parameters)
            rows = [dict(row._mapping) for row in result] if result.returns_rows else []
            if self.dialect == "postgresql":
                await self._adopt_driver()
            return rows
        with _connection_failures_as_connection_error():
            return await self.database.compiled(statement).fetch(self._driver, parameters)

    async def fetch_many(self, statement: sa.Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        """`statement` once per row of parameters, in one round trip where the driver can."""
        if self.dialect == "postgresql" and self._driver is None:
            await self._begin_on_driver()
        if self._driver is None:
            await self.execute(statement, rows)
            if self.dialect == "postgresql":
                await self._adopt_driver()
            return
        with _connection_failures_as_connection_error():
            await self.database.compiled(statement).execute_many(self._driver, rows)

    def prefer_direct(self) -> None:
        """Say that the unit's work is statements built once (`fetch`, `fetch_many`): on
        PostgreSQL its write transaction then begins on one of the direct connections, without
        SQLAlchemy's connection, pool and transaction around it — a sixth of a submission's
        CPU (issue 10). A statement through SQLAlchemy is refused on such a unit until
        `leave_direct`. No effect once the unit has begun, nor on SQLite or a read."""
        if self.dialect == "postgresql" and not self.read_only and self._driver is None:
            self._direct_wanted = self._transaction is None

    async def leave_direct(self) -> None:
        """Roll back what the unit began on a direct connection — the caller knows it wrote
        nothing — and go on through SQLAlchemy. A unit that never began on one (SQLite, a
        unit begun before) goes on as it is."""
        self._direct_wanted = False
        if self._on_direct:
            await self._finish(commit=False)

    async def _begin_on_driver(self) -> None:
        """Begin the unit's transaction on the wire now, as SQLAlchemy's asyncpg adapter would
        at its first statement, so that the first statement too goes straight to asyncpg.
        A unit that `prefer_direct` begins on a direct connection instead.

        The adapter's `_start_transaction` is not public API: if a SQLAlchemy release no
        longer has it, the first statement goes through SQLAlchemy instead, as it did (slower,
        never wrong). A pooled connection found dead here is replaced once, as `execute`
        replaces it for a first statement.
        """
        if self._direct_wanted:
            self.touched = True
            self._driver = await self.database.begin_direct()
            self._on_direct = True
            return
        for attempt in range(2):
            connection = await self.connection()
            adapted: Any = (await connection.get_raw_connection()).dbapi_connection
            if getattr(adapted, "_transaction", None) is not None:
                await self._adopt_driver()  # begun by a statement through SQLAlchemy
                return
            start = getattr(adapted, "_start_transaction", None)
            if start is None:
                return
            try:
                await start()
            except Exception as exc:
                if attempt:
                    raise ConnectionError(f"beginning failed ({type(exc).__name__})") from exc
                # Nothing has run in this transaction: begin again on another connection.
                await connection.invalidate()
                await self._discard()
                continue
            await self._adopt_driver()
            return

    async def _adopt_driver(self) -> None:
        assert self._connection is not None
        driver: Any = (await self._connection.get_raw_connection()).driver_connection
        # Never a statement outside the unit's transaction, whatever SQLAlchemy's internals.
        if not driver.is_in_transaction():
            raise RuntimeError("the unit's connection is not in a transaction")
        self._driver = driver

    async def fetch_alone(
        self, statement: sa.Select[Any], parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """A prebuilt statement that is the unit's whole work: on PostgreSQL a transaction of
        its own on a direct connection (`Database.fetch_alone`), on SQLite in the unit's."""
        if self.dialect != "postgresql":
            return [dict(row._mapping) for row in await self.execute(statement, parameters)]
        if self.touched or self._deferred:
            raise RuntimeError("fetch_alone on a unit that has other work")
        rows = await self.database.fetch_alone(statement, parameters)
        self.touched = True  # it reached the database (the request's owner reports it back)
        return rows

    async def write_alone(
        self, statement: sa.Select[Any], parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """PostgreSQL: a prebuilt statement that writes and is the unit's whole work, as a
        transaction of its own (autocommitted) on a direct connection (`Database.write_alone`)."""
        if self.dialect != "postgresql" or self.touched or self._deferred:
            raise RuntimeError("write_alone on SQLite or on a unit that has other work")
        self.touched = True
        return await self.database.write_alone(statement, parameters)

    def defer(self, table: sa.Table, row: dict[str, Any]) -> None:
        """Write `row` when the unit commits (for a read: right after, in its own write)."""
        self._deferred.append((table, row))

    async def commit(self) -> None:
        if self.read_only:
            await self._finish(commit=True)
            if self._deferred:
                # The read's connection goes back first: with every pooled connection held by
                # a read waiting for a second one to write its log, no read would finish.
                if self._connection is not None:
                    connection, self._connection = self._connection, None
                    await self.database.release(connection)
                writer = Unit(self.database, read_only=False)
                writer._deferred, self._deferred = self._deferred, []
                try:
                    await writer.commit()
                finally:
                    await writer.close()
            return
        if self._deferred:
            await self._write_deferred()
        await self._finish(commit=True)

    async def rollback(self) -> None:
        self._deferred.clear()
        await self._finish(commit=False)

    async def close(self) -> None:
        """Give the connection back; an unfinished transaction is rolled back."""
        try:
            await self._finish(commit=False)
        finally:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                await self.database.release(connection)

    async def _write_deferred(self) -> None:
        by_table: dict[sa.Table, list[dict[str, Any]]] = {}
        for table, row in self._deferred:
            by_table.setdefault(table, []).append(row)
        self._deferred.clear()
        for table, rows in by_table.items():
            # One statement with the rows as parameters (the driver sends a worklist page's
            # rows together): its compiled form is cached, where a multi-row VALUES built
            # per request was compiled again each time.
            for start in range(0, len(rows), DEFERRED_BATCH):
                await self.fetch_many(_insert(table), rows[start : start + DEFERRED_BATCH])

    async def _finish(self, *, commit: bool) -> None:
        self._stamp = None
        if self._on_direct:
            driver, self._driver, self._on_direct = self._driver, None, False
            await self.database.end_direct(driver, commit=commit)
            return
        self._driver = None
        transaction, self._transaction = self._transaction, None
        if transaction is None or not transaction.is_active:
            return
        if not commit:
            await transaction.rollback()
            return
        try:
            await transaction.commit()
        except Exception as exc:
            if self.read_only or self.dialect != "postgresql" or not commit_may_have_happened(exc):
                raise
            broke = type(exc).__name__
            raise OutcomeUnknown(f"the connection broke under COMMIT ({broke})") from exc


@functools.cache
def _insert(table: sa.Table) -> sa.Insert:
    return sa.insert(table)


@functools.cache
def _stamped_insert(table: sa.Table, dialect: str) -> sa.Insert:
    """An insert of one row of `table` with its change stamp: on PostgreSQL the transaction's
    id, on SQLite the counter's value the unit bumped (parameter `change_tx`). Built once: an
    insert with its values in it was compiled again per row, a tenth of a write's CPU."""
    values: dict[str, Any] = {
        column.name: sa.bindparam(column.name, type_=column.type)
        for column in table.columns
        if column.name != "change_tx"
    }
    values["change_tx"] = (
        PG_TRANSACTION_ID
        if dialect == "postgresql"
        else sa.bindparam("change_tx", type_=table.c.change_tx.type)
    )
    return sa.insert(table).values(values)


async def insert_stamped(unit: Unit, table: sa.Table, row: SQLModel) -> None:
    """Insert a row exports read, stamped with its transaction's place in the commit order."""
    values = {column.name: getattr(row, column.name) for column in table.columns}
    stamp = await unit.change_stamp()
    if isinstance(stamp, int):
        values["change_tx"] = stamp
    await unit.fetch(_stamped_insert(table, unit.dialect), values)


@dataclass(frozen=True)
class Direct:
    """A prebuilt statement compiled once for asyncpg: its SQL, the order its parameters are
    sent in, and the values of the literals it binds itself."""

    sql: str
    names: tuple[str, ...]
    literals: Mapping[str, Any]
    # The parameters' conversions SQLAlchemy would apply (JSON to text, a UTC timestamp's
    # checks): the compiler's own, so both paths send the same values.
    processors: Mapping[str, Callable[[Any], Any]]

    @classmethod
    def compile(cls, statement: sa.Executable, dialect: Dialect) -> "Direct":
        compiled = cast(SQLCompiler, cast(sa.ClauseElement, statement).compile(dialect=dialect))
        return cls(
            compiled.string,
            tuple(compiled.positiontup or ()),
            dict(compiled.params),
            cast(dict[str, Callable[[Any], Any]], dict(compiled._bind_processors)),
        )

    def _values(self, parameters: Mapping[str, Any]) -> list[Any]:
        values = []
        for name in self.names:
            value = parameters[name] if name in parameters else self.literals[name]
            process = self.processors.get(name)
            values.append(value if process is None or value is None else process(value))
        return values

    async def fetch(self, connection: Any, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The statement's rows, as dicts of the driver's values (JSON parsed, timestamps
        aware): on PostgreSQL what SQLAlchemy's own processing gives too."""
        return [dict(row) for row in await connection.fetch(self.sql, *self._values(parameters))]

    async def execute_many(self, connection: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        await connection.executemany(self.sql, [self._values(row) for row in rows])


async def _json_codecs(connection: Any) -> None:
    """JSON in and out as SQLAlchemy's asyncpg dialect has it on its own connections
    (binary format; text in, parsed out), so a statement reads alike on either."""
    await connection.set_type_codec(
        "json",
        encoder=str.encode,
        decoder=lambda value: json.loads(value.decode()),
        schema="pg_catalog",
        format="binary",
    )
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda value: b"\x01" + value.encode(),
        decoder=lambda value: json.loads(value[1:].decode()),
        schema="pg_catalog",
        format="binary",
    )


async def _rolled_back(connection: Any) -> None:
    """What a direct connection needs before it is pooled again: nothing, unless a failure
    left a transaction open (asyncpg's default reset costs a round trip per release)."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


# What asyncpg raises when a connection breaks under a statement: the server ended it, or
# its protocol was cut mid-message (InternalClientError). The direct path is the only user
# of its connection, so these say the connection failed, not that the service misused it.
_CONNECTION_FAILURES = (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)


@contextlib.contextmanager
def _connection_failures_as_connection_error() -> Iterator[None]:
    """A connection that broke under a direct statement is the database being away (503)."""
    try:
        yield
    except _CONNECTION_FAILURES as exc:
        raise ConnectionError(f"the database connection failed ({type(exc).__name__})") from exc


# SQLSTATE classes of an error that can come after the server committed: the connection's
# end (08…) and an operator's or a crash's shutdown (57P…) — e.g. while the commit waited for
# a synchronous standby.
_BROKEN_STATES = ("08", "57P")


def commit_may_have_happened(exc: BaseException) -> bool:
    """Whether a failure of a commit (or of a statement that commits on its own) leaves its
    outcome unknown: the connection broke, so no answer came or the answer came too late to
    say the write was rolled back. An error the statement itself met is no such failure."""
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
            return True
        # SQLAlchemy's asyncpg adapter keeps asyncpg's own error as its error's cause.
        exc = exc.orig.__cause__ or exc.orig if exc.orig is not None else exc
    if isinstance(exc, (*_CONNECTION_FAILURES, asyncpg.ConnectionDoesNotExistError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "").startswith(_BROKEN_STATES)
    return False


class OutcomeUnknown(ConnectionError):
    """The connection broke under a COMMIT, or under a statement that commits on its own
    (`write_alone`): the server may have committed before the break, so the 503 does not say
    "nothing was written"."""


class DatabaseFileGone(ConnectionError):
    """The SQLite file this process opened was deleted or replaced."""


class Database:
    """The engine, and how a unit of work gets its connection and transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        busy_timeout_ms: int = 5000,
        direct_pool_size: int = 10,
        timeout_seconds: float = 5,
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.direct_pool_size = direct_pool_size
        self.timeout_seconds = timeout_seconds
        self._direct_pool: asyncpg.Pool | None = None
        self._direct_opening = asyncio.Lock()
        self._compiled: dict[sa.Executable, Direct] = {}
        # The engine with each kind of transaction's options set once (set per connection,
        # they were a twentieth of a write's CPU).
        self._reading = engine.execution_options(**_READ_ONLY_OPTIONS)
        self._writing = engine.execution_options(**_WRITE_OPTIONS)
        self.busy_timeout_ms = busy_timeout_ms
        self._writer = asyncio.Lock()
        self._turn_holders: set[AsyncConnection] = set()
        path = engine.url.database if self.dialect == "sqlite" else None
        self._file = Path(path) if path and path != ":memory:" else None
        self._file_identity: tuple[int, int] | None = None

    def unit(self, *, read_only: bool = False) -> Unit:
        return Unit(self, read_only=read_only)

    def _check_file(self) -> None:
        """A SQLite file deleted or replaced under the running service: its open connections
        would go on writing to the deleted file, and everything written would be gone at the
        next start. Refuse instead (503), until the service is restarted on the new file."""
        if self._file is None:
            return
        try:
            status = self._file.stat()
        except FileNotFoundError:
            if self._file_identity is None:
                return  # not made yet: SQLite makes it on connecting (and /readyz says so)
            raise DatabaseFileGone(f"the database file {self._file} is gone") from None
        identity = (status.st_dev, status.st_ino)
        if self._file_identity is None:
            self._file_identity = identity
        elif identity != self._file_identity:
            raise DatabaseFileGone(f"the database file {self._file} was replaced")

    async def _take_write_turn(self) -> None:
        """SQLite has one writer at a time. Its own lock makes every other writer sleep and
        poll (the busy handler backs off up to 100 ms a try), so under load the waiting
        writers, not the writing, set the pace: in one process they queue here instead, in
        order, and SQLite's lock is only met across processes. Waiting longer than the busy
        timeout is the same 503 as SQLite's own."""
        try:
            await asyncio.wait_for(self._writer.acquire(), self.busy_timeout_ms / 1000)
        except TimeoutError:
            raise sa.exc.TimeoutError("waited too long for SQLite's write turn") from None

    async def begin(self, read_only: bool) -> tuple[AsyncConnection, AsyncTransaction]:
        self._check_file()
        turn = self.dialect == "sqlite" and not read_only
        if turn:
            await self._take_write_turn()
        try:
            connection = await (self._reading if read_only else self._writing).connect()
            try:
                transaction = await connection.begin()
            except BaseException:
                await connection.close()
                raise
        except BaseException:
            if turn:
                self._writer.release()
            raise
        if turn:
            self._turn_holders.add(connection)
        return connection, transaction

    async def release(self, connection: AsyncConnection) -> None:
        try:
            await connection.close()
        finally:
            if connection in self._turn_holders:
                self._turn_holders.discard(connection)
                self._writer.release()

    async def probe_write(self, timeout_ms: int = 1000) -> None:
        """Take and give back SQLite's write lock, waiting at most `timeout_ms` for it (a
        file locked by another writer reads fine but cannot be written). PostgreSQL: no-op."""
        if self.dialect != "sqlite":
            return
        async with self.engine.connect() as connection:
            raw: Any = (await connection.get_raw_connection()).driver_connection
            await raw.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
            try:
                await raw.execute("BEGIN IMMEDIATE")
                await raw.execute("ROLLBACK")
            finally:
                await raw.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")

    async def stream(
        self, statement: sa.Select[Any], *, batch: int = 1000
    ) -> AsyncIterator[sa.Row[Any]]:
        """Rows of a large read with constant memory, from a connection of the stream's own.

        A streamed response outlives its request's unit, so the stream opens its own
        read-only transaction (one snapshot on both databases) and a server-side cursor on
        PostgreSQL that hands rows over `batch` at a time.
        """
        connection, transaction = await self.begin(read_only=True)
        try:
            result = await connection.stream(statement.execution_options(yield_per=batch))
            async for row in result:
                yield row
            await transaction.commit()
        finally:
            if transaction.is_active:
                await transaction.rollback()
            await self.release(connection)

    async def fetch_alone(
        self, statement: sa.Executable, parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """PostgreSQL: run a prebuilt statement as a transaction of its own, straight on
        asyncpg, from a pool of this process's direct connections.

        For the hottest request, a segment read whose access-log row is written by the same
        statement: through SQLAlchemy, each statement cost about three times what asyncpg
        alone does, and a pooled connection's checkout and return as much again
        (bench/throughput.py). `statement` must be built once (it is compiled once); a
        connection the server dropped is replaced and the statement sent again, once.
        """
        direct = self.compiled(statement)
        pool, connection = await self._acquire_direct()  # TimeoutError: 503 now, no second wait
        try:
            return await direct.fetch(connection, parameters)
        except _CONNECTION_FAILURES:
            pass
        finally:
            await pool.release(connection)
        with _connection_failures_as_connection_error():
            pool, connection = await self._acquire_direct()
            try:
                return await direct.fetch(connection, parameters)
            finally:
                await pool.release(connection)

    async def write_alone(
        self, statement: sa.Executable, parameters: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """PostgreSQL: a prebuilt statement that writes, autocommitted on a direct connection
        (one round trip: no BEGIN, no COMMIT). Unlike `fetch_alone` it is never sent twice: a
        connection that broke under it may have committed it first (503; a connection the
        server closed before is replaced by the pool on acquiring)."""
        direct = self.compiled(statement)
        pool, connection = await self._acquire_direct()
        try:
            return await direct.fetch(connection, parameters)
        except Exception as exc:
            if not commit_may_have_happened(exc):
                raise  # the statement's own error: rolled back
            broke = type(exc).__name__
            raise OutcomeUnknown(f"the connection broke under a write ({broke})") from exc
        finally:
            await pool.release(connection)

    async def begin_direct(self) -> Any:
        """PostgreSQL: a write transaction begun on a direct connection (`Unit.prefer_direct`);
        its asyncpg connection, which `end_direct` ends and gives back. A connection the
        server dropped is replaced once, as for `fetch_alone`."""
        for attempt in range(2):
            pool, connection = await self._acquire_direct()
            try:
                await connection.execute("BEGIN")
                return connection
            except _CONNECTION_FAILURES as exc:
                await pool.release(connection)
                if attempt:
                    raise ConnectionError(f"beginning failed ({type(exc).__name__})") from exc
        raise AssertionError("unreachable")

    async def end_direct(self, connection: Any, *, commit: bool) -> None:
        """Commit or roll back a `begin_direct` transaction and give its connection back —
        never still in a transaction (one that cannot be ended is closed)."""
        pool = self._direct_pool
        assert pool is not None
        try:
            try:
                status = await connection.execute("COMMIT" if commit else "ROLLBACK")
            except Exception as exc:
                if not commit_may_have_happened(exc):
                    raise
                broke = type(exc).__name__
                if commit:  # the server may have committed before the break
                    raise OutcomeUnknown(f"the connection broke under COMMIT ({broke})") from exc
                raise ConnectionError(f"the connection broke ({broke})") from exc
            if commit and status != "COMMIT":  # a failed transaction "commits" as ROLLBACK
                raise RuntimeError(f"the transaction did not commit ({status})")
        except Exception:
            if not commit:
                return  # the transaction is gone with its connection either way
            raise
        finally:
            try:
                if connection.is_in_transaction():
                    connection.terminate()
            except asyncpg.InterfaceError:
                pass  # the server ended the connection: the pool has let go of it already
            await pool.release(connection)

    def compiled(self, statement: sa.Executable) -> Direct:
        """`statement` compiled for asyncpg, once: it must be built once too (the cache is
        keyed by the statement object itself)."""
        direct = self._compiled.get(statement)
        if direct is None:
            direct = self._compiled[statement] = Direct.compile(statement, self.engine.dialect)
        return direct

    async def _acquire_direct(self) -> tuple[asyncpg.Pool, Any]:
        """A direct connection and the pool to give it back to (a context manager around the
        two cost a fiftieth of a segment read)."""
        pool = self._direct_pool or await self._open_direct_pool()
        # asyncio.timeout, not acquire(timeout=…): its wait_for costs a task per request.
        async with asyncio.timeout(self.timeout_seconds):
            return pool, await pool.acquire()

    async def _open_direct_pool(self) -> asyncpg.Pool:
        async with self._direct_opening:
            if self._direct_pool is None:
                arguments, options = self.engine.dialect.create_connect_args(self.engine.url)
                options = {**options, "timeout": self.timeout_seconds}
                self._direct_pool = await asyncpg.create_pool(
                    *arguments,
                    **options,
                    min_size=0,
                    max_size=self.direct_pool_size,
                    init=_json_codecs,
                    reset=_rolled_back,
                )
        return self._direct_pool

    async def dispose(self) -> None:
        if self._direct_pool is not None:
            pool, self._direct_pool = self._direct_pool, None
            await pool.close()
        await self.engine.dispose()


def after_key(
    statement: sa.Select[Any], key: Sequence[sa.ColumnElement[Any]], after: Sequence[Any] | None
) -> sa.Select[Any]:
    """Keyset paging: the rows strictly after `after` in `key` order (row-value comparison
    works on PostgreSQL and SQLite alike), ordered by `key`."""
    if after is not None:
        statement = statement.where(sa.tuple_(*key) > sa.tuple_(*after))
    return statement.order_by(*key)
