"""Small builders the scenario tests share."""

from typing import Any

CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"

# The rows of Helsinki's service-mode table (seed 002), in order.
HELSINKI_ASPECTS = [
    "goal",
    "plan",
    "continuity",
    "named_contact",
    "own_team",
    "service_modes",
    "coordination",
]


def hetu(birth: str, century_sign: str = "-", individual: int = 234) -> str:
    """A valid personal identity code for a DDMMYY birth date, built with the public rule."""
    number = f"{birth}{individual:03d}"
    return f"{birth}{century_sign}{individual:03d}{CHECK_CHARACTERS[int(number) % 31]}"


def helsinki_assessment(
    coping: str = "easy",
    risk_level: str = "few",
    client: dict[str, Any] | None = None,
    duration: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    answers = {"coping": coping, "risk_level": risk_level}
    if duration:
        answers["duration"] = duration
    body: dict[str, Any] = {
        "client": client or {"hetu": "131052-308T"},
        "model": "helsinki-2023",
        "answers": answers,
    }
    body.update(fields)
    return body
