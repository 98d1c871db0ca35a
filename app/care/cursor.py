"""Worklist cursors: a page's last position, opaque to the caller, signed and bound to the
tenant and the list that gave it.

Signed like export cursors (app/exports/cursor.py), with the same derived keys, but naming the
list: an export cursor, another list's cursor or another tenant's is refused whole.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.sealed import BadSeal, seal, unseal

VERSION = 1


class BadCursor(BadSeal):
    """The cursor is not one this service gave this tenant for this list."""


@dataclass(frozen=True)
class Position:
    """The last item of a page: its sort key (a moment; None sorts last) and its client."""

    key: datetime | None
    client_id: uuid.UUID


PURPOSE = b"worklist|"


def encode(position: Position, *, tenant: str, worklist: str, key: bytes) -> str:
    fields = {
        "v": VERSION,
        "t": tenant,
        "l": worklist,
        "k": position.key.isoformat() if position.key else None,
        "c": str(position.client_id),
    }
    return seal(fields, key, PURPOSE)


def decode(cursor: str, *, tenant: str, worklist: str, keys: Sequence[bytes]) -> Position:
    try:
        fields = unseal(cursor, keys, PURPOSE)
    except BadSeal as exc:
        raise BadCursor(str(exc)) from None
    try:
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
