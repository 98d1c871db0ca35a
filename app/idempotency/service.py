"""Claiming an `Idempotency-Key`, remembering the response, and finding it again.

The fingerprint of a request is keyed with a secret: a body holds an identity code, and an
unkeyed hash of it could be reversed by trying every code.
"""

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.db import Unit, utc_now
from app.errors import invalid
from app.idempotency.models import IdempotencyRecord
from app.ids import new_id

_table = IdempotencyRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    location: str | None
    client_id: uuid.UUID | None
    body: bytes


def fingerprint_secret(index_key: str) -> bytes:
    """The key request fingerprints are made with, derived from the blind-index key."""
    return hmac.new(index_key.encode(), b"idempotency-fingerprint", hashlib.sha256).digest()


def fingerprint(
    secret: bytes,
    operation: str,
    path_params: dict[str, Any],
    body: object,
    scopes: Iterable[str],
) -> str:
    """The request as a retry must repeat it — with the caller's scopes: which parts of a
    body a caller may write hangs on them (a consent needs `consents:write`), and a replay
    skips those checks, so a token with other scopes is another request."""
    canonical = json.dumps(
        [operation, sorted(path_params.items()), body, sorted(scopes)],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()


async def claim(
    unit: Unit, *, tenant: str, key: str, prints: Sequence[str], sub: str
) -> uuid.UUID | StoredResponse:
    """Claim `key` for this write (its id), or the response of the write that holds it.

    `prints` are the request's fingerprints under every key held, the one stored first: a
    retry that reaches an instance in the middle of a key rotation is still recognised.

    A key is its caller's (`sub`): the same key from another caller of the tenant is refused,
    and so is a retry with other scopes (`fingerprint`).

    A concurrent request with the same key waits here (PostgreSQL) or at BEGIN (SQLite) until
    the first one commits or rolls back; then it finds the response, or claims the key itself.
    """
    claim_id = new_id()
    insert = postgresql.insert if unit.dialect == "postgresql" else sqlite.insert
    statement = (
        insert(_table)
        .values(
            id=claim_id,
            tenant=tenant,
            key=key,
            fingerprint=prints[0],
            created_at=utc_now(),
            created_by=sub,
        )
        .on_conflict_do_nothing(index_elements=["tenant", "key"])
        .returning(_table.c.id)
    )
    if (await unit.execute(statement)).first() is not None:
        return claim_id
    stored = (
        await unit.execute(sa.select(_table).where(_table.c.tenant == tenant, _table.c.key == key))
    ).one()
    if stored.created_by != sub:
        # A retry is its caller's: another's replay would skip the checks the write made of
        # its caller and show it another professional's response. Checked first, so that
        # another caller learns nothing of the request that used the key.
        raise invalid("Idempotency-Key", "this key was already used by another caller")
    if stored.fingerprint not in prints:
        raise invalid(
            "Idempotency-Key", "this key was already used with another request or other scopes"
        )
    assert stored.status_code is not None and stored.body is not None
    return StoredResponse(
        stored.status_code, stored.location, stored.client_id, stored.body.encode()
    )


async def remember(unit: Unit, claim_id: uuid.UUID, response: StoredResponse) -> None:
    await unit.execute(
        sa.update(_table)
        .where(_table.c.id == claim_id)
        .values(
            status_code=response.status_code,
            location=response.location,
            client_id=response.client_id,
            body=response.body.decode(),
        )
    )
