"""What a process loads at start and every request shares, and how it tells a database that is
away from one that refused a statement.

Nothing here is state another instance would need: settings, tenants and keys come from
configuration, and `DatabaseHealth` only decides when this process says so in its log.
"""

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg
import sqlalchemy as sa
from fastapi import Request

from app.auth import TokenVerifier
from app.clients import service as clients
from app.clients.identity import IdentityProtector
from app.config import Settings
from app.db import Database
from app.errors import ServiceUnavailable
from app.keyring import service as keyring
from app.keyring.service import KeyMismatch
from app.tenants import Tenant

log = logging.getLogger("segmentti")


# SQLSTATE classes of a database that is away or overloaded, not of a refused statement:
# 08 connection exception, 53 insufficient resources (too many connections), 57 operator
# intervention (shutting down, starting up: "cannot connect now"), 58 system error; and what
# an operator must put right, which no retry by the caller changes but the service must not
# answer 500 for: 28 the login refused, 3D000 the database does not exist (dropped, renamed),
# 55000 it does not accept connections (ALTER DATABASE … ALLOW_CONNECTIONS false; no
# statement of the service's own meets this state).
_PASSING = ("08", "53", "57", "58", "28", "3D000", "55000")
# SQLite's own busy and locked codes, met on a raw connection (the write probe of /readyz).
_SQLITE_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_unavailable(exc: BaseException) -> bool:
    """The database is away, restarting, out of connections or (SQLite) locked past its busy
    timeout — a condition that passes, unlike a statement the database refused."""
    if isinstance(exc, sa.exc.TimeoutError | ConnectionError | TimeoutError):
        return True
    # The direct path (Database.fetch_alone) meets asyncpg's own errors.
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "").startswith(_PASSING)
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", 0) & 0xFF in _SQLITE_BUSY
    if isinstance(exc, sa.exc.DBAPIError):
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
        return (
            exc.connection_invalidated
            or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
            or sqlstate.startswith(_PASSING)
        )
    return False


# A write that met another in a way the database broke by failing one of them: 40P01 a
# deadlock (two imports locking known clients of theirs in opposite orders), 40001 a
# serialisation failure. Nothing of it was written, and the same request sent again succeeds.
_COLLIDED = ("40P01", "40001")


def collided(exc: BaseException) -> bool:
    """The database failed this write to let a concurrent one through (see _COLLIDED)."""
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "") in _COLLIDED
    if isinstance(exc, sa.exc.DBAPIError):
        return str(getattr(exc.orig, "sqlstate", None) or "") in _COLLIDED
    return False


@dataclass
class DatabaseHealth:
    """Says once in the log that the database went away, and once that it is back, instead of
    a stack per failed request."""

    is_available: bool = True

    def unavailable(self, exc: BaseException) -> None:
        if self.is_available:
            self.is_available = False
            log.warning(
                "database unavailable (%s); answering 503 until it is back", type(exc).__name__
            )

    def available(self) -> None:
        if not self.is_available:
            self.is_available = True
            log.warning("database available again")


@dataclass
class Runtime:
    settings: Settings
    tenants: Mapping[str, Tenant]
    verifier: TokenVerifier
    protector: IdentityProtector
    # Idempotency fingerprints are keyed per blind-index key held (app/idempotency/).
    fingerprint_secrets: Mapping[str, bytes]
    # Export cursors are signed with a key per blind-index key held, the current one first.
    cursor_keys: tuple[bytes, ...]
    database: Database
    head_revision: str
    database_health: DatabaseHealth = field(default_factory=DatabaseHealth)
    keys_checked: bool = False


async def check_keys(runtime: Runtime, *, at_start: bool = False) -> None:
    """Compare the keys with the database's before any data is served (app/keyring/).

    A mismatch stops the process at start. A database that is not there yet (or not yet
    migrated) at start is checked when it is; until then, and if the keys turn out not to
    match then, data requests are answered 503 and the log says why.
    """
    if runtime.keys_checked:
        return
    try:
        await keyring.verify(
            runtime.database,
            runtime.protector,
            lambda unit: clients.unfit_key(unit, runtime.protector),
        )
    except KeyMismatch as exc:
        if at_start:
            raise
        log.error("%s", exc)
        raise ServiceUnavailable(
            "This instance's keys do not match the database's; its log says which.",
            retry_after=runtime.settings.retry_after_seconds,
        ) from None
    except Exception as exc:
        not_migrated = isinstance(exc, sa.exc.ProgrammingError)
        if not (is_unavailable(exc) or not_migrated):
            raise
        if at_start:
            log.warning(
                "keys not yet checked against the database (%s); data requests wait for it",
                type(exc).__name__,
            )
            return
        if not_migrated:
            raise ServiceUnavailable(
                "The database's schema is not at the newest migration.",
                retry_after=runtime.settings.retry_after_seconds,
            ) from None
        raise
    runtime.keys_checked = True


async def keys_current(runtime: Runtime) -> bool:
    """Whether this process still holds the database's current keys."""
    unit = runtime.database.unit(read_only=True)
    try:
        held = await keyring.holds_current(unit, runtime.protector)
        await unit.commit()
        return held
    finally:
        await unit.close()


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
