"""Small signed payloads handed to callers and taken back: export and worklist cursors.

A sealed text is the payload's JSON and a 16-byte HMAC-SHA256 of it (with a purpose prefix, so
that one kind is never taken for another), both URL-safe base64. Whatever cannot be read or
was altered is refused whole; what the fields mean is the caller's.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any


class BadSeal(ValueError):
    """Not a text this service sealed with any of the keys held, or altered."""


def _sign(key: bytes, purpose: bytes, payload: bytes) -> bytes:
    return hmac.new(key, purpose + payload, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(fields: Mapping[str, Any], key: bytes, purpose: bytes = b"") -> str:
    payload = json.dumps(fields, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_sign(key, purpose, payload))}"


def unseal(text: str, keys: Sequence[bytes], purpose: bytes = b"") -> dict[str, Any]:
    try:
        body, signature = text.split(".")
        payload, given = _unb64(body), _unb64(signature)
    except (ValueError, binascii.Error):
        raise BadSeal("not a cursor this service gave") from None
    if not any(hmac.compare_digest(_sign(key, purpose, payload), given) for key in keys):
        raise BadSeal("not a cursor this service gave, or altered")
    try:
        fields = json.loads(payload)
    except ValueError:
        raise BadSeal("not a cursor this service gave") from None
    if not isinstance(fields, dict):
        raise BadSeal("not a cursor this service gave")
    return fields
