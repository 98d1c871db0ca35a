"""The secrets a process needs, from configuration or, on a local run, from a generated file.

A local run with nothing configured must still start with one command, yet restarting it must
not make stored identity codes unreadable or minted tokens invalid — so generated secrets are
written once to `dev_secrets_file` (mode 0600) and reused. Production configures all three.
"""

import json
import logging
import os
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet

from app.config import Settings

log = logging.getLogger("segmentti")


@dataclass(frozen=True)
class Keys:
    jwt_secret: str | None
    data_key: str
    index_key: str
    generated: bool


def _load_or_create_dev_secrets(settings: Settings) -> dict[str, str]:
    path = settings.dev_secrets_file
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    created = {
        "jwt_secret": secrets.token_urlsafe(32),
        "data_key": Fernet.generate_key().decode(),
        "index_key": secrets.token_urlsafe(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(created, handle)
    return created


def resolve_keys(settings: Settings) -> Keys:
    token_key_configured = bool(settings.jwt_secret or settings.jwt_public_key or settings.jwks_url)
    if token_key_configured and settings.data_key and settings.index_key:
        return Keys(settings.jwt_secret, settings.data_key, settings.index_key, generated=False)
    dev = _load_or_create_dev_secrets(settings)
    log.warning(
        "Using development secrets from %s; configure SEGMENTTI_JWT_SECRET, "
        "SEGMENTTI_DATA_KEY and SEGMENTTI_INDEX_KEY in production. "
        "Mint a token with: segmentti token --org helsinki --sub you@example",
        settings.dev_secrets_file,
    )
    return Keys(
        jwt_secret=settings.jwt_secret or (None if token_key_configured else dev["jwt_secret"]),
        data_key=settings.data_key or dev["data_key"],
        index_key=settings.index_key or dev["index_key"],
        generated=True,
    )
