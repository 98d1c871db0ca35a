"""Importing historical segment decisions: all lines good, or nothing written.

The body is read as it arrives, line by line — never held whole — and each line checked as it
comes (app/imports/lines.py); good lines go to the staging table in batches, and every CHUNK
of them is written while the next chunk is read. A line that says again what a line of the
same chunk said is left out here (a later chunk's finds the earlier one written). A bad line
stops the staging; the rest is still read for more problems to report, up to a limit. Only a
file without problems is written (app/imports/staging.py), in the request's one transaction.
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
# The reader lets the writer through every this many lines: each of a chunk's statements
# resumes only when the reader yields, and every 500 lines (about 15 ms of checking) kept the
# database idle for a sixth of the import (15,700 → 18,300 rows/s at 200k).
YIELD_EVERY = 50
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


# Handed to the writer after a chunk's last batch: write the chunk.
_APPLY: list[Staged] = []


class _Writer:
    """The import's database side, run beside the reading: batches of checked lines go to
    the staging table, and each chunk is written for good while the next is read and checked
    — a chunk's writing is most of the database's time, and with two batches read ahead it
    left the service's process idle for it (12,200 rows/s; 13,700 with the chunk read ahead,
    bench/export_import.py). The bounded queue keeps memory flat: reading waits when writing
    lags by more than a chunk (about 600 bytes a line)."""

    def __init__(
        self, unit: Unit, principal: Principal, protector: IdentityProtector, now: datetime
    ) -> None:
        self.unit, self.principal, self.protector, self.now = unit, principal, protector, now
        self.queue: asyncio.Queue[list[Staged] | None] = asyncio.Queue(maxsize=CHUNK // BATCH + 2)
        self.written = 0
        self.stopped = False
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while (batch := await self.queue.get()) is not None:
            if self.stopped:
                continue
            if batch is _APPLY:
                self.written += await staging.apply_chunk(
                    self.unit, principal=self.principal, protector=self.protector, now=self.now
                )
            else:
                await staging.add(self.unit, batch)

    async def put(self, batch: list[Staged] | None) -> None:
        """Hand over a batch (`_APPLY`: write the chunk; None: the end); raises what writing
        raised."""
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


def _decision(staged: Staged) -> tuple[object, ...]:
    """What a line says, as the staging's `imported_before` compares it: the client (its index
    under the current key), the moment, the model version, the segment and the recorder."""
    return (
        staged.index_a,
        staged.effective_at,
        staged.model_id,
        staged.model_version,
        staged.decided_code,
        staged.recorded_by,
    )


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
    in_chunk = 0
    # What each line of the chunk says, to leave out a line saying it again.
    said: set[tuple[object, ...]] = set()
    lines = 0
    try:
        async for number, raw in _lines(body):
            lines = number
            if number % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the writer and other requests through
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
            if problems:
                continue
            decision = _decision(result)
            if decision in said:
                continue
            said.add(decision)
            batch.append(result)
            in_chunk += 1
            if len(batch) >= BATCH or in_chunk >= CHUNK:
                await writer.put(batch)
                batch = []
            if in_chunk >= CHUNK:
                await writer.put(_APPLY)
                said.clear()
                checker.next_chunk()
                in_chunk = 0
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
        if in_chunk:
            await writer.put(_APPLY)
        written = await writer.finish()
    except BaseException:
        await writer.stop()
        raise
    await staging.finish(unit, principal=principal, now=now, written=written)
    return written, lines
