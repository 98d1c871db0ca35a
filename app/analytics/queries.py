"""Population figures in SQL, over `segment_span` (how long each decision was in force).

A client is in a segment at T when one of their spans has valid_from <= T < valid_to — the
same assessment `app.assessments.queries.in_force(T)` selects, kept per span so that each
figure here is one pass over an index range, aggregated in the database: no client row leaves
it. Retracted decisions have no span; every statement is limited to one tenant and model.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app.analytics.bands import AGE_BANDS, UNKNOWN_AGE, born_by
from app.assessments.models import segment_span
from app.clients.models import client
from app.db import UTCDateTime

span = segment_span.c


def _moment(value: datetime) -> sa.BindParameter[datetime]:
    return sa.literal(value, UTCDateTime)


def _of_model(tenant: str, model_id: str) -> list[sa.ColumnElement[bool]]:
    return [span.tenant == tenant, span.model_id == model_id]


def in_force_at(at: datetime) -> sa.ColumnElement[bool]:
    moment = _moment(at)
    return sa.and_(
        span.valid_from <= moment, sa.or_(span.valid_to.is_(None), span.valid_to > moment)
    )


def distribution(tenant: str, model_id: str, at: datetime) -> sa.Select[Any]:
    """(code, count): the model's clients per segment in force at `at`."""
    return (
        sa.select(span.decided_code, sa.func.count().label("clients"))
        .where(*_of_model(tenant, model_id), in_force_at(at))
        .group_by(span.decided_code)
    )


def age_band(day: date) -> sa.ColumnElement[str]:
    """The band of a client's age on `day`, from the birth date (none: its own band)."""
    birth = client.c.birth_date
    whens: list[tuple[sa.ColumnElement[bool], str]] = [(birth.is_(None), UNKNOWN_AGE)]
    for band in AGE_BANDS[:-1]:
        assert band.until is not None
        whens.append((birth > born_by(day, band.until + 1), band.key))
    return sa.case(*whens, else_=AGE_BANDS[-1].key)


def distribution_by_age(tenant: str, model_id: str, at: datetime) -> sa.Select[Any]:
    """(band, code, count) at `at`."""
    banded = (
        sa.select(age_band(at.date()).label("band"), span.decided_code)
        .select_from(segment_span.join(client, client.c.id == span.client_id))
        .where(*_of_model(tenant, model_id), in_force_at(at))
        .subquery("banded")
    )
    return _counted(banded, banded.c.band, banded.c.decided_code)


def _counted(rows: sa.Subquery, *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """Rows counted per `columns` (grouped outside the subquery that computes them, so the
    database groups by a column, not by an expression it must match)."""
    return sa.select(*columns, sa.func.count().label("clients")).group_by(*columns)


def transitions(tenant: str, model_id: str, start: datetime, end: datetime) -> sa.Select[Any]:
    """(from_code, to_code, count): where the model's clients were at `start` and at `end`;
    NULL on one side for a client who was not in the model then (entered, or left)."""
    before = (
        sa.select(span.client_id, span.decided_code)
        .where(*_of_model(tenant, model_id), in_force_at(start))
        .subquery("before")
    )
    after = (
        sa.select(span.client_id, span.decided_code)
        .where(*_of_model(tenant, model_id), in_force_at(end))
        .subquery("after")
    )
    moved = sa.select(
        before.c.decided_code.label("from_code"), after.c.decided_code.label("to_code")
    ).select_from(before.join(after, before.c.client_id == after.c.client_id, full=True))
    pairs = moved.subquery("moved")
    return _counted(pairs, pairs.c.from_code, pairs.c.to_code)


def points_before(value: sa.ColumnElement[datetime], points: Sequence[datetime]) -> Any:
    """How many of the ascending `points` lie before `value`, as a binary search written out
    in CASE expressions: a handful of comparisons a row, whatever the number of points."""

    def search(low: int, high: int) -> Any:
        if low == high:
            return sa.literal(low)
        middle = (low + high) // 2
        return sa.case(
            (value > _moment(points[middle]), search(middle + 1, high)), else_=search(low, middle)
        )

    return search(0, len(points))


def series(tenant: str, model_id: str, points: Sequence[datetime]) -> sa.Select[Any]:
    """(code, first, last, count): spans of the model grouped by the first of `points` they
    cover (`first`, an index) and the first they no longer cover (`last`; len(points) when
    they last beyond). A span covers point i exactly when first <= i < last; summing these
    over i is the distribution at every point from one pass over the spans."""
    first = points_before(span.valid_from, points).label("first")
    last = sa.case(
        (span.valid_to.is_(None), sa.literal(len(points))),
        else_=points_before(span.valid_to, points),
    ).label("last")
    covering = (
        sa.select(span.decided_code, first, last)
        .where(
            *_of_model(tenant, model_id),
            span.valid_from <= _moment(points[-1]),
            sa.or_(span.valid_to.is_(None), span.valid_to > _moment(points[0])),
        )
        .subquery("covering")
    )
    return _counted(covering, covering.c.decided_code, covering.c["first"], covering.c["last"])
