"""Streaming an export's rows with constant memory, on a connection of the stream's own.

On PostgreSQL, CSV and NDJSON without identity codes are written by the database itself:
`COPY (…) TO STDOUT`, passed on chunk by chunk. Rows that need Python — identity codes to
decrypt, FHIR resources to build, or SQLite — come from a server-side cursor (SQLite: in
batches) and are written here. Both paths write the same CSV; the NDJSON is the same JSON.
A slow reader slows the database down instead of filling memory: each chunk waits for the
previous one to be sent.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import sqlalchemy as sa

from app.clients.identity import IdentityProtector
from app.clients.models import client
from app.db import Database
from app.exports import formats, queries
from app.exports.service import Export

log = logging.getLogger("segmentti")

CHUNK = 64 * 1024
_END = object()


async def stream(
    database: Database, export: Export, protector: IdentityProtector
) -> AsyncIterator[bytes]:
    if database.dialect == "postgresql" and not export.with_identity and export.format != "fhir":
        source = _copy(database, export)
    else:
        source = _written(database, export, protector)
    try:
        async for chunk in source:
            yield chunk
    except Exception as exc:
        # The status line has gone out; all that can be done is to stop and say so.
        log.error("export %s broke off: %s", export.run_id, type(exc).__name__)
        raise


def _records(export: Export, *, with_identity: bool) -> sa.Subquery:
    return queries.records(export.policy, export.window, with_identity=with_identity).subquery()


def _utc(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    return sa.func.to_char(sa.func.timezone("UTC", column), formats.SQL_TIME_FORMAT)


def _copy_query(export: Export) -> tuple[sa.Select[Any], dict[str, Any]]:
    r = _records(export, with_identity=False)
    if export.format == "csv":
        columns = [
            r.c.client_id,
            sa.null().label("hetu"),
            r.c.segment_code,
            r.c.segment_key,
            _utc(r.c.effective_at).label("effective_at"),
            _utc(r.c.recorded_at).label("recorded_at"),
            r.c.recorded_by,
            r.c.model,
            r.c.model_version,
            r.c.assessment_id,
            r.c.status,
        ]
        return sa.select(*columns), {"format": "csv", "header": True}
    fields: list[Any] = []
    for name in formats.CSV_HEADER:
        value: Any = sa.null() if name == "hetu" else r.c[name]
        if name in ("effective_at", "recorded_at"):
            value = _utc(r.c[name])
        fields.extend([sa.literal(name), value])
    fields.extend([sa.literal("source"), r.c.source])
    line = sa.cast(sa.func.json_build_object(*fields), sa.Text)
    # One column of JSON text through CSV with quote and delimiter characters JSON text never
    # holds unescaped, so nothing is quoted or escaped a second time.
    return sa.select(line), {"format": "csv", "quote": "\x01", "delimiter": "\x02"}


async def _copy(database: Database, export: Export) -> AsyncIterator[bytes]:
    query, options = _copy_query(export)
    compiled = query.compile(
        dialect=database.engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    arguments = [compiled.params[name] for name in compiled.positiontup or ()]
    chunks: asyncio.Queue[object] = asyncio.Queue(maxsize=4)

    async def sink(data: Any) -> None:
        await chunks.put(bytes(data))  # the driver's buffer is reused once this returns

    async def run() -> None:
        connection, transaction = await database.begin(read_only=True)
        try:
            raw: Any = (await connection.get_raw_connection()).driver_connection
            # One statement: one snapshot, and every row below the horizon is settled.
            await raw.copy_from_query(compiled.string, *arguments, output=sink, **options)
            await transaction.commit()
        finally:
            if transaction.is_active:
                await transaction.rollback()
            await database.release(connection)
            await chunks.put(_END)

    task = asyncio.create_task(run())
    try:
        while (chunk := await chunks.get()) is not _END:
            assert isinstance(chunk, bytes)
            yield chunk
        await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _written(
    database: Database, export: Export, protector: IdentityProtector
) -> AsyncIterator[bytes]:
    def hetu(record: Any) -> str | None:
        token = record["hetu_encrypted"]
        return protector.decrypt(token) if token is not None else None

    write: Callable[[Any], str]
    if export.format == "csv":
        write = lambda record: formats.csv_row(record, hetu(record))  # noqa: E731
    elif export.format == "ndjson":
        write = lambda record: formats.ndjson_row(record, hetu(record))  # noqa: E731
    else:
        write = lambda record: _observation(export, record, hetu(record))  # noqa: E731
    buffer = [formats.csv_header()] if export.format == "csv" else []
    size = 0
    r = _records(export, with_identity=export.with_identity)
    async for row in database.stream(sa.select(r), batch=2000):
        line = write(row._mapping)
        if line:
            buffer.append(line)
            size += len(line)
        if size >= CHUNK:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if export.format == "fhir":
        async for line in _consents(database, export, protector):
            buffer.append(line)
            size += len(line)
            if size >= CHUNK:
                yield "".join(buffer).encode()
                buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def _observation(export: Export, record: Any, hetu: str | None) -> str:
    """An Observation per decision; a withdrawn one is told by the client's Consent."""
    if record["status"] == "withdrawn":
        return ""
    key = (record["model"], record["model_version"], record["code"])
    return formats.ndjson(formats.observation(record, hetu, export.names_fi[key]))


async def _consents(
    database: Database, export: Export, protector: IdentityProtector
) -> AsyncIterator[str]:
    """The consent in force of every client the export listed (active, or inactive after a
    withdrawal), as FHIR Consent resources."""
    listed = sa.select(_records(export, with_identity=False).c.client_id).distinct()
    latest = queries.consents(export.policy, export.window.until_tx, listed).subquery()
    query = sa.select(
        latest.c.id,
        latest.c.client_id,
        latest.c.given,
        latest.c.at,
        (client.c.hetu_encrypted if export.with_identity else sa.null()).label("hetu_encrypted"),
    ).join(client, client.c.id == latest.c.client_id)
    async for row in database.stream(query, batch=2000):
        event = row._mapping
        token = event["hetu_encrypted"]
        yield formats.ndjson(
            formats.consent(dict(event), protector.decrypt(token) if token is not None else None)
        )
