"""Export cursors: opaque to the caller, signed, bound to the tenant that received them.

A cursor carries the horizon of committed changes an export read up to, and the day its age
scope was reckoned on; the next export reads from there. Its signature is keyed with the
blind-index key (any key held, during a rotation); a cursor that was altered, made for
another tenant, or cannot be read is refused whole.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

VERSION = 1


class BadCursor(ValueError):
    """The cursor is not one this service gave this tenant."""


@dataclass(frozen=True)
class Position:
    tenant: str
    until_tx: int
    day: date


def secret(index_key: str) -> bytes:
    """The key cursors are signed with, derived from a blind-index key."""
    return hmac.new(index_key.encode(), b"segmentti export cursor", hashlib.sha256).digest()


def _sign(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(position: Position, key: bytes) -> str:
    payload = json.dumps(
        {"v": VERSION, "t": position.tenant, "h": position.until_tx, "d": position.day.isoformat()},
        separators=(",", ":"),
    ).encode()
    return f"{_b64(payload)}.{_b64(_sign(key, payload))}"


def decode(cursor: str, tenant: str, keys: Sequence[bytes]) -> Position:
    try:
        body, signature = cursor.split(".")
        payload, given = _unb64(body), _unb64(signature)
    except (ValueError, binascii.Error):
        raise BadCursor("not a cursor this service gave") from None
    if not any(hmac.compare_digest(_sign(key, payload), given) for key in keys):
        raise BadCursor("not a cursor this service gave, or altered")
    try:
        fields = json.loads(payload)
        position = Position(str(fields["t"]), int(fields["h"]), date.fromisoformat(fields["d"]))
    except (ValueError, KeyError, TypeError):
        raise BadCursor("not a cursor this service gave") from None
    if fields.get("v") != VERSION:
        raise BadCursor("a cursor of another version; start again with a full export")
    if position.tenant != tenant:
        raise BadCursor("a cursor given to another tenant")
    return position
