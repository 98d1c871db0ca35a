"""Streaming an export's lines with constant memory, on a connection of the stream's own.

On PostgreSQL the database writes every line (app/exports/render.py) and a server-side
cursor hands them over a batch at a time; only identity codes are filled in here, decrypted
once per client while it is still remembered. On SQLite the rows come in batches and are
written in Python (app/exports/formats.py). A slow reader slows the database down instead of
filling memory: each chunk waits for the previous one to be sent.
"""

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import sqlalchemy as sa

from app.clients.identity import IdentityProtector
from app.clients.models import client
from app.db import Database
from app.exports import formats, queries, render
from app.exports.service import Export

log = logging.getLogger("segmentti")

CHUNK = 64 * 1024
BATCH = 2000
CODES_REMEMBERED = 4096


async def stream(
    database: Database, export: Export, protector: IdentityProtector
) -> AsyncIterator[bytes]:
    if database.dialect == "postgresql":
        source = _rendered(database, export, protector)
    else:
        source = _written(database, export, protector)
    try:
        async for chunk in source:
            yield chunk
    except Exception as exc:
        # The status line has gone out; all that can be done is to stop and say so.
        log.error("export %s broke off: %s", export.run_id, type(exc).__name__)
        raise


class _Codes:
    """Decrypted identity codes of the clients seen last: a client's rows come together."""

    def __init__(self, protector: IdentityProtector) -> None:
        self.protector = protector
        self.known: OrderedDict[str, str] = OrderedDict()

    def put_in(self, line: str, token: str) -> str:
        code = self.known.get(token)
        if code is None:
            code = self.protector.decrypt(token)
            self.known[token] = code
            if len(self.known) > CODES_REMEMBERED:
                self.known.popitem(last=False)
        # The token stands where the code goes, before any text a person wrote.
        at = line.index(token)
        return line[:at] + code + line[at + len(token) :]


async def _rendered(
    database: Database, export: Export, protector: IdentityProtector
) -> AsyncIterator[bytes]:
    statements = [
        render.records(
            export.format,
            export.policy,
            export.window,
            with_identity=export.with_identity,
            names_fi=export.names_fi,
        )
    ]
    if export.format == "fhir":
        statements.append(
            render.consents(export.policy, export.window, with_identity=export.with_identity)
        )
    codes = _Codes(protector)
    connection, transaction = await database.begin(read_only=True)
    try:
        # The driver's cursor needs the transaction the first statement begins.
        await connection.execute(sa.text("SELECT 1"))
        raw: Any = (await connection.get_raw_connection()).driver_connection
        if export.format == "csv":
            yield formats.csv_header().encode()
        for statement in statements:
            compiled = statement.compile(
                dialect=database.engine.dialect, compile_kwargs={"render_postcompile": True}
            )
            arguments = [compiled.params[name] for name in compiled.positiontup or ()]
            cursor = await raw.cursor(compiled.string, *arguments)
            while rows := await cursor.fetch(BATCH):
                yield "".join(
                    line if token is None else codes.put_in(line, token) for line, token in rows
                ).encode()
        await transaction.commit()
    finally:
        if transaction.is_active:
            await transaction.rollback()
        await database.release(connection)


def _records(export: Export, *, with_identity: bool) -> sa.Subquery:
    return queries.records(export.policy, export.window, with_identity=with_identity).subquery()


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
    async for row in database.stream(sa.select(r), batch=BATCH):
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
    async for row in database.stream(query, batch=BATCH):
        event = row._mapping
        token = event["hetu_encrypted"]
        yield formats.ndjson(
            formats.consent(dict(event), protector.decrypt(token) if token is not None else None)
        )
