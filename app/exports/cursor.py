"""Export cursors: opaque to the caller, signed, bound to the tenant that received them.

A cursor carries the horizon of committed changes an export read up to, and the day its age
scope was reckoned on; the next export reads from there. Its signature is keyed with the
blind-index key (any key held, during a rotation); a cursor that was altered, made for
another tenant, or cannot be read is refused whole.
"""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.sealed import BadSeal, seal, unseal

VERSION = 1


class BadCursor(BadSeal):
    """The cursor is not one this service gave this tenant."""


@dataclass(frozen=True)
class Position:
    tenant: str
    until_tx: int
    day: date


def secret(index_key: str) -> bytes:
    """The key cursors are signed with, derived from a blind-index key."""
    return hmac.new(index_key.encode(), b"segmentti export cursor", hashlib.sha256).digest()


def encode(position: Position, key: bytes) -> str:
    fields = {
        "v": VERSION,
        "t": position.tenant,
        "h": position.until_tx,
        "d": position.day.isoformat(),
    }
    return seal(fields, key)


def decode(cursor: str, tenant: str, keys: Sequence[bytes]) -> Position:
    try:
        fields = unseal(cursor, keys)
    except BadSeal as exc:
        raise BadCursor(str(exc)) from None
    try:
        position = Position(str(fields["t"]), int(fields["h"]), date.fromisoformat(fields["d"]))
    except (ValueError, KeyError, TypeError):
        raise BadCursor("not a cursor this service gave") from None
    if fields.get("v") != VERSION:
        raise BadCursor("a cursor of another version; start again with a full export")
    if position.tenant != tenant:
        raise BadCursor("a cursor given to another tenant")
    return position
