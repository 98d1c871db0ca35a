"""Export lines written by PostgreSQL itself: CSV, NDJSON and FHIR R4, from the same shapes
app/exports/formats.py fills in Python (SQLite's path), tested to agree.

A line is a template — the shape written once as JSON with markers where values go — whose
pieces the database concatenates with each row's values: no JSON is built and taken apart
per row, which keeps a million FHIR resources a matter of seconds. Only text a person wrote
is escaped in SQL; everything else is an id, a code or a time.

Each query yields `(line, token)`. Without identity codes `token` is NULL and the line is
final. With them, `token` is the client's encrypted identity code, and the line holds it in
the place of the code, before any text a person wrote (a CSV row's second field, an NDJSON
record's second member, an Observation's subject): the stream decrypts the token and puts
the code there (app/exports/stream.py). The code never exists in clear inside the database.
"""

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from app.clients.models import client
from app.exports import formats, queries
from app.exports.queries import Policy, Window

Column = sa.ColumnElement[Any]

# A marker stands for a value inside a JSON string (its escaped content); a whole-value
# marker, quotes included, for a JSON value of any kind (a number, null, a string).
_INSIDE, _WHOLE = "\ue000", "\ue001"
_MARKERS = re.compile(f'{_INSIDE}(\\w+){_INSIDE}|"{_WHOLE}(\\w+){_WHOLE}"')


def inside(name: str) -> str:
    return f"{_INSIDE}{name}{_INSIDE}"


def whole(name: str) -> str:
    return f"{_WHOLE}{name}{_WHOLE}"


def _filled(shape: Mapping[str, Any], values: Mapping[str, Column]) -> Column:
    """The shape as one line of JSON text, each marker replaced by its value."""
    text = json.dumps(shape, ensure_ascii=False, separators=(",", ":"))
    pieces: list[Any] = []
    at = 0
    for match in _MARKERS.finditer(text):
        if match.start() > at:
            pieces.append(sa.literal(text[at : match.start()]))
        pieces.append(values[match.group(1) or match.group(2)])
        at = match.end()
    pieces.append(sa.literal(text[at:] + "\n"))
    return sa.func.concat(*pieces)


def _text(value: Any) -> Column:
    return sa.cast(value, sa.Text)


def _utc(column: Column) -> Column:
    return sa.func.to_char(sa.func.timezone("UTC", column), formats.SQL_TIME_FORMAT)


def _escaped(text: Column) -> Column:
    """A person's text as the content of a JSON string."""
    encoded = _text(sa.func.to_json(text))
    return sa.func.substr(encoded, 2, sa.func.length(encoded) - 2)


def _csv_field(text: Column) -> Column:
    """Quoted only when it must be, as Python's csv module and COPY … CSV quote."""
    quoted = sa.literal('"') + sa.func.replace(text, '"', '""') + sa.literal('"')
    special = sa.or_(*(sa.func.strpos(text, c) > 0 for c in '",\r\n'))
    return sa.case((special, quoted), else_=text)


def _by_identity(
    token: Column,
    shape: Callable[[str | None], Mapping[str, Any]],
    values: Mapping[str, Column],
    with_identity: bool,
) -> Column:
    """The line with the client's identity code (the token in its place) or without."""
    if not with_identity:
        return _filled(shape(None), values)
    with_code = _filled(shape(inside("token")), {**values, "token": token})
    return sa.case((token.is_not(None), with_code), else_=_filled(shape(None), values))


def _name_fi(r: Any, names_fi: Mapping[tuple[str, str, int], str]) -> Column:
    cases = [
        (
            sa.and_(r.c.model == model, r.c.model_version == version, r.c.code == code),
            json.dumps(name, ensure_ascii=False)[1:-1],
        )
        for (model, version, code), name in names_fi.items()
    ]
    return sa.case(*cases, else_="") if cases else sa.literal("")


def records(
    fmt: str,
    policy: Policy,
    window: Window,
    *,
    with_identity: bool,
    names_fi: Mapping[tuple[str, str, int], str],
) -> sa.Select[Any]:
    """(line, token) for each record of the export."""
    r = queries.records(policy, window, with_identity=with_identity).subquery("r")
    token = r.c.hetu_encrypted
    # Ids, codes, keys and versions hold no character JSON or CSV would escape.
    values: dict[str, Column] = {
        "client_id": _text(r.c.client_id),
        "assessment_id": _text(r.c.assessment_id),
        "segment_key": r.c.segment_key,
        "effective_at": _utc(r.c.effective_at),
        "recorded_at": _utc(r.c.recorded_at),
        "model": r.c.model,
        "model_version": r.c.model_version,
        "status": r.c.status,
        "source": r.c.source,
    }
    if fmt == "csv":
        parts: list[Any] = [
            values["client_id"],
            sa.func.coalesce(token, ""),
            _text(r.c.segment_code),
            values["segment_key"],
            values["effective_at"],
            values["recorded_at"],
            _csv_field(r.c.recorded_by),
            values["model"],
            values["model_version"],
            values["assessment_id"],
            values["status"],
        ]
        separated = [p for part in parts for p in (part, sa.literal(","))][:-1]
        line: Column = sa.func.concat(*separated, sa.literal("\n"))
        return sa.select(line.label("line"), token.label("token"))
    values["recorded_by"] = _escaped(r.c.recorded_by)
    if fmt == "ndjson":
        fields = {name: inside(name) for name in values}
        fields.update(segment_code=whole("segment_code"), hetu=whole("hetu"))
        hetu = sa.case((token.is_not(None), '"' + token + '"'), else_="null")
        line = _filled(
            formats.ndjson_shape(fields),
            {**values, "segment_code": _text(r.c.segment_code), "hetu": hetu},
        )
        return sa.select(line.label("line"), token.label("token"))
    values["status"] = sa.case((r.c.status == "active", "final"), else_="entered-in-error")
    values["segment_code"] = _text(r.c.segment_code)
    values["name_fi"] = _name_fi(r, names_fi)
    fields = {name: inside(name) for name in values}
    line = _by_identity(
        token,
        lambda hetu: formats.observation_shape({**fields, "hetu": hetu}),
        values,
        with_identity,
    )
    # A withdrawal is told by the client's Consent resource, not an Observation.
    return sa.select(line.label("line"), token.label("token")).where(r.c.status != "withdrawn")


def consents(policy: Policy, window: Window, *, with_identity: bool) -> sa.Select[Any]:
    """(line, token): the consent in force of each client an FHIR export lists."""
    listed = sa.select(
        queries.records(policy, window, with_identity=False).subquery().c.client_id
    ).distinct()
    latest = queries.consents(policy, window.until_tx, listed).subquery("latest")
    token = client.c.hetu_encrypted if with_identity else sa.null()
    values: dict[str, Column] = {
        "id": _text(latest.c.id),
        "status": sa.case((latest.c.given, "active"), else_="inactive"),
        "client_id": _text(latest.c.client_id),
        "at": _utc(latest.c.at),
        "provision": sa.case((latest.c.given, "permit"), else_="deny"),
    }
    fields = {name: inside(name) for name in values}
    line = _by_identity(
        token, lambda hetu: formats.consent_shape({**fields, "hetu": hetu}), values, with_identity
    )
    return sa.select(line.label("line"), token.label("token")).select_from(
        latest.join(client, client.c.id == latest.c.client_id)
    )
