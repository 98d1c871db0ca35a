"""The secrets a process needs: from configuration, or on a local SQLite run, generated once.

A local run with nothing configured must still start with one command, yet restarting it must
not make stored identity codes unreadable or minted tokens invalid — so generated secrets are
written once to `dev_secrets_file` (mode 0600) and reused. That is for a local SQLite file
only: on PostgreSQL, where several instances share one database, a process without configured
keys refuses to start and says what to set. Whether the keys are the ones the database was
first used with is checked against the database itself (app/keyring/).

During a key rotation an instance is also given the previous keys, which it still accepts
(decrypts with, looks clients up by) while the rotation command moves every row to the new
ones (docs/operations.md).
"""

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.fernet import Fernet

from app.config import Settings

log = logging.getLogger("segmentti")

DATA_KEY = "data_key"
INDEX_KEY = "index_key"
VARIABLES = {DATA_KEY: "SEGMENTTI_DATA_KEY", INDEX_KEY: "SEGMENTTI_INDEX_KEY"}
PREVIOUS_VARIABLES = {
    DATA_KEY: "SEGMENTTI_PREVIOUS_DATA_KEY",
    INDEX_KEY: "SEGMENTTI_PREVIOUS_INDEX_KEY",
}


class KeyConfigurationError(Exception):
    """The keys cannot be used; the message names the variables, never a key."""


@dataclass(frozen=True)
class Keys:
    jwt_secret: str | None
    data_keys: tuple[str, ...]  # the current key first, then the previous one while rotating
    index_keys: tuple[str, ...]
    generated: bool

    def by_name(self, name: str) -> tuple[str, ...]:
        return self.data_keys if name == DATA_KEY else self.index_keys


def check_value(key: str) -> str:
    """What the database remembers of a key: a keyed hash that cannot give the key back."""
    return hmac.new(key.encode(), b"segmentti key check v1", hashlib.sha256).hexdigest()


def generate() -> dict[str, str]:
    return {
        "jwt_secret": secrets.token_urlsafe(32),
        "data_key": Fernet.generate_key().decode(),
        "index_key": secrets.token_urlsafe(32),
    }


def _load_or_create_dev_secrets(settings: Settings) -> dict[str, str]:
    path = settings.dev_secrets_file
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    created = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(created, handle)
    return created


def _check_data_key(value: str, variable: str) -> None:
    try:
        Fernet(value.encode())
    except ValueError as exc:
        raise KeyConfigurationError(
            f"{variable} is not a Fernet key (32 url-safe base64-encoded bytes); generate one "
            "with `segmentti generate-keys`"
        ) from exc


MIN_SECRET_LENGTH = 32


def _check_secret(value: str, variable: str) -> None:
    """A blind-index key or token secret must resist guessing: its check value (and every
    index) lets anyone holding the database try keys offline."""
    if len(value) < MIN_SECRET_LENGTH:
        raise KeyConfigurationError(
            f"{variable} is too short: at least {MIN_SECRET_LENGTH} random characters "
            "(`segmentti generate-keys` makes them)"
        )


def resolve_keys(settings: Settings) -> Keys:
    token_key = bool(settings.jwt_secret or settings.jwt_public_key or settings.jwks_url)
    missing = [
        variable
        for variable, value in (
            ("SEGMENTTI_DATA_KEY", settings.data_key),
            ("SEGMENTTI_INDEX_KEY", settings.index_key),
            ("SEGMENTTI_JWT_SECRET (or SEGMENTTI_JWT_PUBLIC_KEY or SEGMENTTI_JWKS_URL)", token_key),
        )
        if not value
    ]
    on_sqlite = sa.make_url(settings.database_url).get_backend_name() == "sqlite"
    if missing and not on_sqlite:
        raise KeyConfigurationError(
            "On PostgreSQL every instance needs the same configured keys; set "
            + ", ".join(missing)
            + ". `segmentti generate-keys` prints new ones. Generated development secrets "
            "are for a local SQLite run only."
        )
    if missing:
        dev = _load_or_create_dev_secrets(settings)
        log.warning(
            "Using development secrets from %s (a local SQLite run); configure %s in "
            "production. Mint a token with: segmentti token --org helsinki --sub you@example",
            settings.dev_secrets_file,
            ", ".join(missing),
        )
    else:
        dev = {}
    data_key = settings.data_key or dev["data_key"]
    index_key = settings.index_key or dev["index_key"]
    _check_data_key(data_key, "SEGMENTTI_DATA_KEY")
    _check_secret(index_key, "SEGMENTTI_INDEX_KEY")
    if settings.jwt_secret:
        _check_secret(settings.jwt_secret, "SEGMENTTI_JWT_SECRET")
    if settings.previous_index_key:
        _check_secret(settings.previous_index_key, "SEGMENTTI_PREVIOUS_INDEX_KEY")
    data_keys = [data_key]
    if settings.previous_data_key:
        _check_data_key(settings.previous_data_key, "SEGMENTTI_PREVIOUS_DATA_KEY")
        data_keys.append(settings.previous_data_key)
    index_keys = [index_key]
    if settings.previous_index_key:
        index_keys.append(settings.previous_index_key)
    return Keys(
        jwt_secret=settings.jwt_secret or (None if token_key else dev["jwt_secret"]),
        data_keys=tuple(data_keys),
        index_keys=tuple(index_keys),
        generated=bool(missing),
    )
