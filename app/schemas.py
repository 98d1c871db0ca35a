"""Schema pieces every domain's API shares: strict request bodies, moments, free text.

Requests are validated strictly: a boolean is a JSON boolean, a number is not a string, an
enumerated value is exact, and a moment is an RFC 3339 date-time with an offset — nothing is
coerced. Any text a request would store is refused if it holds a personal identity code (that
belongs in `client.hetu`, encrypted), a control character or a bidirectional override.
"""

import json
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo

from app.identity_codes import looks_like_identity_code

EARLIEST_YEAR = 1900
_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
# C0 and C1 controls but tab and line breaks, and the bidirectional embeddings, overrides and
# isolates that can make stored text read differently from what it says.
_HIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
DETAILS_MAX_DEPTH = 8
DETAILS_MAX_BYTES = 16_384


def _moment(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError(
            "expected an RFC 3339 date-time with an offset, e.g. 2026-11-20T10:00:00+02:00"
        )
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not a date-time that exists") from None


def _plausible(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("expected an offset, e.g. +02:00 or Z")
    # Far-off years overflow when converted between time zones; none is a real decision date.
    # The moment counts, not its local clock: 1900-01-01T00:00+14:00 is still in 1899.
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be before the year 9999 ends, in UTC") from None
    if moment.year < EARLIEST_YEAR:
        raise ValueError(f"must be in {EARLIEST_YEAR} or later (UTC)")
    return moment  # every time the service answers with is in UTC


# A moment in time as requests give it: RFC 3339 with an offset, from 1900 on.
Moment = Annotated[datetime, BeforeValidator(_moment), AfterValidator(_plausible)]


def text_problem(value: str) -> str | None:
    if _HIDDEN.search(value):
        return "must not contain control characters or bidirectional overrides"
    if looks_like_identity_code(value):
        return "must not contain a personal identity code; identify the client in `client`"
    return None


def single_line_text(value: str, limit: int) -> bool:
    """A name or a purpose as the access log keeps it: visible, one line, no tab, nothing
    hidden and no identity code, at most `limit` characters."""
    return (
        0 < len(value) <= limit
        and visible(value)
        and "\t" not in value
        and "\n" not in value
        and "\r" not in value
        and not any(unicodedata.category(c) == "Cf" for c in value)
        and text_problem(value) is None
    )


# The validation context's key for a memo of texts already checked (a bulk reader's own).
TEXT_MEMO = "text_memo"


def _checked(
    value: str, info: ValidationInfo, kind: str, problem_of: Callable[[str], str | None]
) -> str:
    """`value` if `problem_of` finds nothing wrong with it; a bulk reader's memo (the
    validation context's TEXT_MEMO) spares checking the same text twice."""
    memo = info.context.get(TEXT_MEMO) if isinstance(info.context, dict) else None
    key = f"{kind}\x1f{value}"
    if memo is not None and key in memo:
        problem = memo[key]
    else:
        problem = problem_of(value)
        if memo is not None:
            memo[key] = problem
    if problem:
        raise ValueError(problem)
    return value


def _free_text(value: str, info: ValidationInfo) -> str:
    return _checked(value, info, "text", text_problem)


# Text a request stores: checked for identity codes and hidden characters.
FreeText = Annotated[str, AfterValidator(_free_text)]

# A cell a spreadsheet would run as a formula when the export is opened in one.
FORMULA_START = ("=", "+", "-", "@")


def _recorder_problem(value: str) -> str | None:
    if not single_line_text(value, 255):
        return (
            "one visible line: no control characters, tabs, line breaks, hidden characters "
            "or identity codes"
        )
    if value.startswith(FORMULA_START):
        return "must not begin with =, +, - or @ (a spreadsheet would run it as a formula)"
    return None


def _recorder(value: str, info: ValidationInfo) -> str:
    return _checked(value, info, "recorder", _recorder_problem)


# Who recorded a decision, as an imported register entry names them: a name or an id, one
# line, exported to registers as it is.
Recorder = Annotated[str, AfterValidator(_recorder)]


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, level + 1) for child in children)
    return deepest


def _texts(value: Any) -> list[str]:
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _bounded_document(value: dict[str, Any]) -> dict[str, Any]:
    if _depth(value) > DETAILS_MAX_DEPTH:
        raise ValueError(f"must be at most {DETAILS_MAX_DEPTH} levels deep")
    if len(json.dumps(value, ensure_ascii=False).encode()) > DETAILS_MAX_BYTES:
        raise ValueError(f"must be at most {DETAILS_MAX_BYTES} bytes as JSON")
    for text in _texts(value):
        problem = text_problem(text)
        if problem:
            raise ValueError(problem)
    return value


# A free-form object a request stores (`details`): bounded, and checked like free text.
FreeDocument = Annotated[dict[str, Any], AfterValidator(_bounded_document)]


def visible(value: str) -> bool:
    """Whether the text shows anything: not only spaces, invisible or combining marks."""
    return any(unicodedata.category(c)[0] not in "ZCM" for c in value)


def no_blank(value: str | None) -> str | None:
    if value is not None and not visible(value):
        raise ValueError("must not be blank")
    return value


class RequestBody(BaseModel):
    """Base of every request body: strict types, unknown fields refused, and values never
    echoed in validation errors (they may be identity codes)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, strict=True)


class LocalizedText(BaseModel):
    fi: str
    sv: str
    en: str
