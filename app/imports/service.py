"""Importing historical segment decisions: all lines good, or nothing written.

The body is read as it arrives, line by line — never held whole — and each line checked as it
comes (app/imports/lines.py); good lines go to the staging table in batches. A bad line stops
the staging; the rest is still read for more problems to report, up to a limit. Only a file
without problems is written (app/imports/staging.py), in the request's one transaction.
"""

import asyncio
from collections.abc import AsyncIterator

from app.auth import Principal
from app.clients.identity import IdentityProtector
from app.clients.service import KeysRotated
from app.db import Unit, utc_now
from app.errors import FieldError, InvalidInput
from app.imports import staging
from app.imports.lines import Staged, stage

BATCH = 2000
MAX_PROBLEMS = 100
MAX_LINE_BYTES = 64 * 1024


async def _lines(body: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes | None]]:
    """(line number, line) for each non-blank line; None for one longer than allowed, which
    is not kept in memory while the rest of it is skipped."""
    number, pending, skipping = 0, b"", False
    async for chunk in body:
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()
        for raw in parts:
            if skipping:  # the end of an over-long line
                skipping = False
                continue
            number += 1
            if raw.strip():
                yield number, raw if len(raw) <= MAX_LINE_BYTES else None
        if len(pending) > MAX_LINE_BYTES:
            if not skipping:
                number += 1
                yield number, None
                skipping = True
            pending = b""
    if pending.strip() and not skipping:
        yield number + 1, pending


async def run(
    unit: Unit,
    *,
    principal: Principal,
    protector: IdentityProtector,
    body: AsyncIterator[bytes],
) -> tuple[int, int]:
    """Import the body's lines; returns (decisions written, lines read)."""
    now = utc_now()
    await staging.create(unit)
    problems: list[FieldError] = []
    batch: list[Staged] = []
    lines = 0
    async for number, raw in _lines(body):
        lines = number
        result = (
            [FieldError(f"lines[{number}]", f"longer than {MAX_LINE_BYTES} bytes")]
            if raw is None
            else stage(number, raw, tenant=principal.tenant, protector=protector, now=now)
        )
        if isinstance(result, list):
            problems.extend(result)
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        if not problems:
            batch.append(result)
        if len(batch) >= BATCH:
            await staging.add(unit, batch)
            batch = []
            await asyncio.sleep(0)  # let other requests on this process through
    if problems:
        more = (
            " (and possibly more: checking stopped there)" if len(problems) >= MAX_PROBLEMS else ""
        )
        raise InvalidInput(
            problems[:MAX_PROBLEMS],
            detail=f"Nothing was imported: {len(problems)} problem(s) in the lines named{more}.",
        )
    if batch:
        await staging.add(unit, batch)
    written = await staging.apply(unit, principal=principal, protector=protector, now=now)
    if written is None:
        raise KeysRotated()
    return written, lines
