"""Request bodies are parsed as strict JSON before any validation.

Python's parser accepts `NaN` and `Infinity`, which are not JSON (RFC 8259) and which
PostgreSQL's jsonb refuses, and any string may carry NUL, which PostgreSQL's text refuses.
Both would reach the database as a 500 on one backend and be stored on the other; here they
are a 400 before anything runs, on both.
"""

import json
from typing import Any

from fastapi import Request


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _find_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_find_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_find_nul(k) or _find_nul(v) for k, v in value.items())
    return False


def strict_loads(body: bytes) -> Any:
    """Parse JSON, raising JSONDecodeError (with a message that quotes nothing) on NaN,
    Infinity or a NUL character."""
    text = body.decode("utf-8", errors="strict") if isinstance(body, bytes) else body
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError("NaN and Infinity are not JSON numbers", "", 0) from exc
    if _find_nul(value):
        raise json.JSONDecodeError("text must not contain NUL (\\u0000) characters", "", 0)
    return value


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json
