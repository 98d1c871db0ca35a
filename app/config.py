"""One Settings object, read from SEGMENTTI_* environment variables.

Nothing here touches the disk or the network at import time; `get_settings()` is cached so every
part of a process sees the same values, and tests build their own `Settings` explicitly.
"""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


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
    max_body_bytes: int = 1_048_576
    # An import's body (NDJSON, streamed, never held whole).
    max_import_bytes: int = 1_073_741_824
    # `segmentti serve`: where to listen, how many worker processes, whose X-Forwarded-For to
    # believe (comma-separated addresses or networks of the gateways, `*` for any), and how
    # long SIGTERM waits for requests in flight before the process exits.
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    forwarded_allow_ips: str = "127.0.0.1"
    shutdown_grace_seconds: int = 20
    log_level: str = "INFO"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # How long to wait for the database (connecting, a pooled connection, SQLite's write lock)
    # before answering 503.
    db_timeout_seconds: float = 5
    sqlite_busy_timeout_ms: int = 5000
    # What a 503 tells the caller to wait before retrying, when the database is away or busy.
    retry_after_seconds: int = 5


@lru_cache
def get_settings() -> Settings:
    return Settings()
