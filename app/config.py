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
    dev_secrets_file: Path = Path(".segmentti-dev-secrets.json")
    tenants_file: Path = PACKAGE_DIR / "tenants.toml"
    models_dir: Path | None = None
    max_body_bytes: int = 1_048_576
    log_level: str = "INFO"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # What a 503 tells the caller to wait before retrying, when the database is away or busy.
    retry_after_seconds: int = 5


@lru_cache
def get_settings() -> Settings:
    return Settings()
