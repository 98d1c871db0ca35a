"""Request bodies are I-JSON (RFC 7493), checked before any validation.

Python's parser accepts what I-JSON does not, and each of those would reach the database as a
500 on one backend and be stored on the other, or mean different things to different
readers: `NaN` and `Infinity`; numbers beyond a double (`1e400` becomes infinity; integers
beyond 2^53 lose precision elsewhere); a member name given twice (which one counts?); lone
surrogates and NUL, which PostgreSQL's text refuses; and nesting deep enough to exhaust a
stack. Each is a 400 here, before anything runs, with a message that quotes nothing.
"""

import json
import re
from typing import Any

from fastapi import Request

MAX_DEPTH = 32
SAFE_INTEGER = 2**53 - 1
_UNSAFE_TEXT = re.compile(r"[\x00\ud800-\udfff]")


class NotIJSON(json.JSONDecodeError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)


def _constant(_name: str) -> Any:
    raise NotIJSON("NaN and Infinity are not JSON numbers")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > 16 or abs(value := int(text)) > SAFE_INTEGER:
        raise NotIJSON("integers must be within ±(2^53 − 1)")
    return value


def _number(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise NotIJSON("numbers must be within the range of a double")
    return value


def _members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise NotIJSON("a member name appears twice in one object")
    return members


def _check(text: str, value: Any) -> None:
    if "\\" not in text and "\x00" not in text and text.count("{") + text.count("[") <= MAX_DEPTH:
        # Nothing escaped (so no surrogate or NUL in any string) and too few brackets to nest
        # deeper than allowed: nothing to look for. Most bodies end here.
        return
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise NotIJSON(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            if _UNSAFE_TEXT.search(item):
                raise NotIJSON("text must not contain NUL (\\u0000) or unpaired surrogates")
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def strict_loads(body: bytes | str) -> Any:
    """Parse I-JSON, raising JSONDecodeError (with a message that quotes nothing)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise NotIJSON("the body must be UTF-8") from None
    try:
        value = json.loads(
            text,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_number,
            object_pairs_hook=_members,
        )
    except RecursionError:
        raise NotIJSON(f"nested more than {MAX_DEPTH} levels deep") from None
    _check(text, value)
    return value


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json
