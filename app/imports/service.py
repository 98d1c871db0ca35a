"""Importing historical segment decisions: all lines good, or nothing written.

The body is read as it arrives, line by line — never held whole — and each line checked as it
comes (app/imports/lines.py); good lines go to the staging table in batches. A bad line stops
the staging; the rest is still read for more problems to report, up to a limit. Only a file
without problems is written (app/imports/staging.py), in the request's one transaction.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

from app.auth import Principal
from app.clients.identity import IdentityProtector
from app.clients.service import KeysRotated
from app.db import Unit, utc_now
from app.errors import FieldError, InvalidInput
from app.imports import staging
from app.imports.lines import LineChecker, Staged
from app.keyring import service as keyring

BATCH = 5000
CHUNK = 50_000
YIELD_EVERY = 500
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


class _Writer:
    """The import's database side, run beside the reading: batches of checked lines go to
    the staging table, and every CHUNK lines are written for good while the next ones are
    read and checked. A bounded queue keeps memory flat: reading waits when writing lags
    (a whole chunk read ahead measured no faster: both sides share the machine's two cores)."""

    def __init__(
        self, unit: Unit, principal: Principal, protector: IdentityProtector, now: datetime
    ) -> None:
        self.unit, self.principal, self.protector, self.now = unit, principal, protector, now
        self.queue: asyncio.Queue[list[Staged] | None] = asyncio.Queue(maxsize=2)
        self.written = 0
        self.stopped = False
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        staged = 0
        while (batch := await self.queue.get()) is not None:
            if self.stopped:
                continue
            await staging.add(self.unit, batch)
            staged += len(batch)
            if staged >= CHUNK:
                await self._apply()
                staged = 0
        if staged and not self.stopped:
            await self._apply()

    async def _apply(self) -> None:
        self.written += await staging.apply_chunk(
            self.unit, principal=self.principal, protector=self.protector, now=self.now
        )

    async def put(self, batch: list[Staged] | None) -> None:
        """Hand over a batch (None: the end); raises what writing raised."""
        putting = asyncio.ensure_future(self.queue.put(batch))
        await asyncio.wait({putting, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if not putting.done():
            putting.cancel()
            self.task.result()  # raises the writer's error
            raise RuntimeError("the import's writer stopped early")

    async def finish(self) -> int:
        await self.put(None)
        await self.task
        return self.written

    async def stop(self) -> None:
        """Write nothing more (the request fails and its transaction is rolled back); waits
        for the statement under way, never cancelling one half-way."""
        if self.stopped:
            return
        self.stopped = True
        with contextlib.suppress(Exception):
            await self.put(None)
            await self.task


async def run(
    unit: Unit,
    *,
    principal: Principal,
    protector: IdentityProtector,
    body: AsyncIterator[bytes],
) -> tuple[int, int]:
    """Import the body's lines; returns (decisions written, lines read)."""
    now = utc_now()
    # Lines are protected with the keys new rows are written with: the database's current
    # ones, which a rotation may have moved on since this process last looked.
    if not await keyring.refresh(unit, protector):
        raise KeysRotated()
    await staging.create(unit)
    checker = LineChecker(principal.tenant, protector, now)
    writer = _Writer(unit, principal, protector, now)
    problems: list[FieldError] = []
    batch: list[Staged] = []
    lines = 0
    try:
        async for number, raw in _lines(body):
            lines = number
            result = (
                [FieldError(f"lines[{number}]", f"longer than {MAX_LINE_BYTES} bytes")]
                if raw is None
                else checker.check(number, raw)
            )
            if isinstance(result, list):
                if not problems:
                    await writer.stop()  # nothing will be written: stop writing at once
                problems.extend(result)
                if len(problems) >= MAX_PROBLEMS:
                    break
                continue
            if not problems:
                batch.append(result)
            if len(batch) >= BATCH:
                await writer.put(batch)
                batch = []
            if number % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the writer and other requests through
        if problems:
            more = (
                " (and possibly more: checking stopped there)"
                if len(problems) >= MAX_PROBLEMS
                else ""
            )
            raise InvalidInput(
                problems[:MAX_PROBLEMS],
                detail=f"Nothing was imported: {len(problems)} problem(s) in the lines "
                f"named{more}.",
            )
        if batch:
            await writer.put(batch)
        written = await writer.finish()
    except BaseException:
        await writer.stop()
        raise
    await staging.finish(unit, principal=principal, now=now, written=written)
    return written, lines
