"""Worklist cursors: a page's last position, opaque to the caller, signed and bound to the
tenant and the list that gave it.

Signed like export cursors (app/exports/cursor.py), with the same derived keys, but naming the
list: an export cursor, another list's cursor or another tenant's is refused whole.
"""

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

VERSION = 1


class BadCursor(ValueError):
    """The cursor is not one this service gave this tenant for this list."""


@dataclass(frozen=True)
class Position:
    """The last item of a page: its sort key (a moment; None sorts last) and its client."""

    key: datetime | None
    client_id: uuid.UUID


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"worklist|" + payload, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(position: Position, *, tenant: str, worklist: str, key: bytes) -> str:
    payload = json.dumps(
        {
            "v": VERSION,
            "t": tenant,
            "l": worklist,
            "k": position.key.isoformat() if position.key else None,
            "c": str(position.client_id),
        },
        separators=(",", ":"),
    ).encode()
    return f"{_b64(payload)}.{_b64(_sign(key, payload))}"


def decode(cursor: str, *, tenant: str, worklist: str, keys: Sequence[bytes]) -> Position:
    try:
        body, signature = cursor.split(".")
        payload, given = _unb64(body), _unb64(signature)
    except (ValueError, binascii.Error):
        raise BadCursor("not a cursor this service gave") from None
    if not any(hmac.compare_digest(_sign(key, payload), given) for key in keys):
        raise BadCursor("not a cursor this service gave, or altered")
    try:
        fields = json.loads(payload)
        moment = fields["k"]
        position = Position(
            datetime.fromisoformat(moment) if moment is not None else None,
            uuid.UUID(fields["c"]),
        )
    except (ValueError, KeyError, TypeError):
        raise BadCursor("not a cursor this service gave") from None
    if fields.get("v") != VERSION:
        raise BadCursor("a cursor of another version; start again from the first page")
    if fields.get("t") != tenant:
        raise BadCursor("a cursor given to another tenant")
    if fields.get("l") != worklist:
        raise BadCursor("a cursor of another worklist")
    return position
