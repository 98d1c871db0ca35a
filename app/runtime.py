"""What a process loads at start and every request shares, and how it tells a database that is
away from one that refused a statement.

Nothing here is state another instance would need: settings, tenants and keys come from
configuration, and `DatabaseHealth` only decides when this process says so in its log.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi import Request

from app.auth import TokenVerifier
from app.clients.identity import IdentityProtector
from app.config import Settings
from app.db import Database
from app.tenants import Tenant

log = logging.getLogger("segmentti")


def is_unavailable(exc: BaseException) -> bool:
    """The database is away, restarting, out of connections or (SQLite) locked past its busy
    timeout — a condition that passes, unlike a statement the database refused."""
    if isinstance(exc, sa.exc.TimeoutError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sa.exc.OperationalError | sa.exc.InterfaceError
        )
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
    fingerprint_secret: bytes
    database: Database
    head_revision: str
    database_health: DatabaseHealth = field(default_factory=DatabaseHealth)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
