"""The segment in force, written once in SQL.

Every reader of "which segment does a client have at time T" — `GET …/segment`, exports,
analytics, worklists — selects through `in_force`, so none of them can drift from another. The
definition: among the client's active (not retracted) assessments that had taken effect by T,
the latest by effective time, and of those taking effect at the same moment the one recorded
last (`sequence`). tests/assessments/test_in_force_sql.py holds it to the Python timeline
(timeline.py) on generated histories.
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.assessments.models import assessment, retraction
from app.db import UTCDateTime


def is_active() -> sa.ColumnElement[bool]:
    return ~sa.exists().where(retraction.c.assessment_id == assessment.c.id)


def in_force(
    at: datetime | Any, *criteria: sa.ColumnElement[bool], correlate: sa.FromClause | None = None
) -> sa.Select[Any]:
    """The assessment rows in force at `at`, one per client, among those meeting `criteria`
    (conditions on `assessment`, e.g. a tenant or a client). `correlate`: the enclosing FROM
    the criteria name, when this is one client's part of a LATERAL join."""
    ranked = (
        sa.select(
            assessment,
            sa.func.row_number()
            .over(
                partition_by=assessment.c.client_id,
                order_by=(assessment.c.effective_at.desc(), assessment.c.sequence.desc()),
            )
            .label("rank"),
        )
        .where(assessment.c.effective_at <= at, is_active(), *criteria)
        .correlate(correlate)
        .subquery("ranked")
    )
    columns = [ranked.c[c.name] for c in assessment.columns]
    return sa.select(*columns).where(ranked.c.rank == 1)


def spans(
    *criteria: sa.ColumnElement[bool], correlate: sa.FromClause | None = None
) -> sa.Select[Any]:
    """Each active assessment meeting `criteria` with the time its segment stayed in force:
    `valid_from` (its effective time) until `valid_to`, when the client's next active decision
    took effect (NULL: in force now). By the same definition as `in_force`: at any T the one
    span with valid_from <= T < valid_to is the assessment `in_force(T)` selects, and a
    decision replaced at the moment it took effect (same time, lower sequence) has none."""
    following = (
        sa.select(
            assessment.c.id,
            assessment.c.tenant,
            assessment.c.client_id,
            assessment.c.model_id,
            assessment.c.model_version,
            assessment.c.decided_code,
            assessment.c.effective_at,
            sa.func.lead(assessment.c.effective_at, type_=UTCDateTime)
            .over(
                partition_by=assessment.c.client_id,
                order_by=(assessment.c.effective_at, assessment.c.sequence),
            )
            .label("valid_to"),
        )
        .where(is_active(), *criteria)
        .correlate(correlate)
        .subquery("following")
    )
    return sa.select(
        following.c.id.label("assessment_id"),
        following.c.tenant,
        following.c.client_id,
        following.c.model_id,
        following.c.model_version,
        following.c.decided_code,
        following.c.effective_at.label("valid_from"),
        following.c.valid_to,
    ).where(sa.or_(following.c.valid_to.is_(None), following.c.valid_to > following.c.effective_at))
