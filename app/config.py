"""One Settings object, read from SEGMENTTI_* environment variables.

Nothing here touches the disk or the network at import time; `get_settings()` is cached so every
part of a process sees the same values, and tests build their own `Settings` explicitly.
"""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent

LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value),
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEGMENTTI_", extra="ignore")

    database_url: str = "sqlite:///segmentti.db"
    # Token verification: an HS256 shared secret, or a PEM public key (RS256/ES256), or a JWKS URL.
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # Keys protecting identity codes at rest: a Fernet key for encryption and a separate secret
    # for the blind index. Without them a local run keeps generated ones in `dev_secrets_file`.
    data_key: str | None = None
    index_key: str | None = None
    # During a key rotation: the keys being replaced, still accepted (docs/operations.md).
    previous_data_key: str | None = None
    previous_index_key: str | None = None
    dev_secrets_file: Path = Path(".segmentti-dev-secrets.json")
    tenants_file: Path = PACKAGE_DIR / "tenants.toml"
    models_dir: Path | None = None
    # The Alembic scripts, when the package is installed apart from them (the container).
    migrations_dir: Path | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # An import's body (NDJSON, streamed, never held whole).
    max_import_bytes: int = Field(default=1_073_741_824, ge=1024)
    # `segmentti serve`: where to listen, how many worker processes, whose X-Forwarded-For to
    # believe (comma-separated addresses or networks of the gateways, `*` for any), and how
    # long SIGTERM waits for requests in flight before the process exits.
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    forwarded_allow_ips: str = "127.0.0.1"
    shutdown_grace_seconds: int = Field(default=20, ge=0)
    log_level: LogLevel = "INFO"
    # Connections kept open per process. Overflow connections are closed when returned, so
    # a sustained load above the pool churns connections (a TLS-or-not handshake and backend
    # start each): the pool is sized for the load and overflow is off by default.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    # PostgreSQL: connections of the direct pool the segment read runs on (app/db.py), opened
    # as needed, per process, besides `db_pool_size`.
    db_direct_pool_size: int = Field(default=10, ge=1)
    # How long to wait for the database (connecting, a pooled connection, SQLite's write lock)
    # before answering 503.
    db_timeout_seconds: float = Field(default=5, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    # What a 503 tells the caller to wait before retrying, when the database is away or busy.
    retry_after_seconds: int = Field(default=5, ge=1)

    @field_validator("tenants_file", "models_dir", "migrations_dir")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError("no such file or directory")
        return value


def explain(error: ValidationError) -> str:
    """A settings error in one line per variable, naming the variable."""
    return "; ".join(
        f"SEGMENTTI_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
        for e in error.errors()
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
