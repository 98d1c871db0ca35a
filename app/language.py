"""Which of the catalog's languages a response is written in (`Accept-Language`)."""

from typing import Annotated

from fastapi import Header

from app.segmentation.catalog import LANGUAGES

DEFAULT_LANGUAGE = "fi"


def negotiate(accept_language: str | None) -> str:
    """The first of fi, sv, en the caller accepts, by q-value; Finnish when none matches —
    and when the header cannot be read: an optional header never fails a request."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
            if not 0 <= quality <= 1:  # nan and out-of-range q-values count as refusals
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


async def language(accept_language: Annotated[str | None, Header()] = None) -> str:
    return negotiate(accept_language)
