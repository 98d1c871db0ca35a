"""What may go to the health register, in SQL — one definition for every export and for the
access log's account of what each export disclosed.

A decision is *exportable at horizon H on day D* when, among the rows committed below H
(`change_tx < H`, see app/db.py `Unit.change_stamp`): it is not retracted; its model version
and segment have a register number under the tenant's policy; the client's health-register
consent was in force at its `effective_at` and is in force now (the latest consent event
below H); and the client is inside the tenant's roll-out scope on day D (old enough, with a
known birth date, where the tenant sets a minimum age).

A full export lists what is exportable at the newest horizon. An incremental one compares,
for every client with a change in the window [H_prev, H_now) or who came of age between the
two days, each decision's state at both points, and lists what changed: `active` (newly
exportable, including again after consent was given back), `retracted` (entered in error)
or `withdrawn` (consent withdrawn) — the receiver removes what it holds for those.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from app.assessments.models import assessment, retraction
from app.clients.models import client
from app.consents.models import consent_event

HEALTH = "health"


@dataclass(frozen=True)
class Numbered:
    """A segment with a register number: (model, version, segment code) → register code."""

    model_id: str
    model_version: str
    code: int
    register_code: int
    key: str


@dataclass(frozen=True)
class Policy:
    tenant: str
    numbering: tuple[Numbered, ...]
    min_age: int | None


@dataclass(frozen=True)
class Window:
    """Committed changes [since_tx, until_tx); since_tx 0 is everything (a full export)."""

    since_tx: int
    until_tx: int
    since_day: date | None
    until_day: date

    @property
    def full(self) -> bool:
        return self.since_tx == 0


def born_by(day: date, min_age: int) -> date:
    """The latest birth date of someone `min_age` years old on `day` (29 Feb → 28 Feb)."""
    try:
        return day.replace(year=day.year - min_age)
    except ValueError:
        return day.replace(year=day.year - min_age, day=28)


def _consent_periods(policy: Policy, horizon: int, clients: Any | None, name: str) -> sa.CTE:
    """Each health-register consent event below `horizon` and how long it held: from its `at`
    until the next event's (NULL: in force now), and whether the client's consent is given
    now. Events at the same time: the later recorded holds. One pass over the events, joined
    once to the decisions below — never a lookup per row (and never a second join, which
    SQLite would answer by scanning the events again for every decision)."""
    order = (consent_event.c.at, consent_event.c.recorded_at, consent_event.c.id)
    latest_first = tuple(column.desc() for column in order)
    by_client = consent_event.c.client_id
    query = sa.select(
        by_client,
        consent_event.c.given,
        consent_event.c.at.label("since"),
        sa.func.lead(consent_event.c.at)
        .over(partition_by=by_client, order_by=order)
        .label("until"),
        sa.func.first_value(consent_event.c.given)
        .over(partition_by=by_client, order_by=latest_first)
        .label("given_now"),
    ).where(
        consent_event.c.tenant == policy.tenant,
        consent_event.c.register_name == HEALTH,
        consent_event.c.change_tx < horizon,
    )
    if clients is not None:
        query = query.where(consent_event.c.client_id.in_(clients))
    return query.cte(name)


def _retracted(horizon: int) -> sa.Exists:
    return sa.exists().where(
        retraction.c.assessment_id == assessment.c.id, retraction.c.change_tx < horizon
    )


def _numbered(policy: Policy) -> sa.ColumnElement[bool]:
    if not policy.numbering:
        return sa.false()
    return sa.tuple_(
        assessment.c.model_id, assessment.c.model_version, assessment.c.decided_code
    ).in_([(n.model_id, n.model_version, n.code) for n in policy.numbering])


def _by_numbering(policy: Policy, field: str) -> sa.ColumnElement[Any]:
    """The register code or segment key of a numbered decision."""
    cases = [
        (
            sa.and_(
                assessment.c.model_id == n.model_id,
                assessment.c.model_version == n.model_version,
                assessment.c.decided_code == n.code,
            ),
            getattr(n, field),
        )
        for n in policy.numbering
    ]
    return sa.case(*cases, else_=None) if cases else sa.null()


def exportable(
    query: sa.Select[Any],
    policy: Policy,
    horizon: int,
    day: date,
    *,
    clients: Any | None = None,
    name: str = "consent_now",
) -> sa.Select[Any]:
    """`query` (over `assessment` joined with `client`) narrowed to the decisions exportable
    at `horizon` on `day`; `clients` (ids, or a select of them) narrows it further."""
    then = _consent_periods(policy, horizon, clients, name)
    conditions = [
        assessment.c.tenant == policy.tenant,
        assessment.c.change_tx < horizon,
        ~_retracted(horizon),
        _numbered(policy),
    ]
    if clients is not None:
        conditions.append(assessment.c.client_id.in_(clients))
    if policy.min_age is not None:
        conditions.append(client.c.birth_date.is_not(None))
        conditions.append(client.c.birth_date <= born_by(day, policy.min_age))
    # No consent recorded is no consent: a decision without a period in force is left out.
    given_then = sa.and_(
        then.c.client_id == assessment.c.client_id,
        then.c.given.is_(True),
        then.c.since <= assessment.c.effective_at,
        sa.or_(then.c.until.is_(None), assessment.c.effective_at < then.c.until),
        then.c.given_now.is_(True),
    )
    return query.join(then, given_then).where(*conditions)


def _changed_clients(policy: Policy, window: Window) -> sa.CompoundSelect[Any]:
    """Clients with anything committed in the window, or who came of age between its days."""
    since, until = window.since_tx, window.until_tx
    changed: list[sa.Select[Any]] = [
        sa.select(assessment.c.client_id).where(
            assessment.c.tenant == policy.tenant, assessment.c.change_tx.between(since, until - 1)
        ),
        sa.select(assessment.c.client_id)
        .join(retraction, retraction.c.assessment_id == assessment.c.id)
        .where(
            retraction.c.tenant == policy.tenant, retraction.c.change_tx.between(since, until - 1)
        ),
        sa.select(consent_event.c.client_id).where(
            consent_event.c.tenant == policy.tenant,
            consent_event.c.change_tx.between(since, until - 1),
        ),
    ]
    if policy.min_age is not None and window.since_day is not None:
        changed.append(
            sa.select(client.c.id).where(
                client.c.tenant == policy.tenant,
                client.c.birth_date > born_by(window.since_day, policy.min_age),
                client.c.birth_date <= born_by(window.until_day, policy.min_age),
            )
        )
    return sa.union(*changed)


def records(
    policy: Policy,
    window: Window,
    *,
    with_identity: bool,
    clients: Sequence[Any] | None = None,
) -> sa.Select[Any]:
    """The export's records: every decision exportable at the window's end (full), or each
    decision whose state changed across the window (incremental), with its status.

    `clients` narrows it to some clients (the access log's account of one client).
    """
    decisions = assessment.join(client, client.c.id == assessment.c.client_id)

    def columns(status: sa.ColumnElement[str]) -> sa.Select[Any]:
        return sa.select(
            assessment.c.client_id,
            (client.c.hetu_encrypted if with_identity else sa.null()).label("hetu_encrypted"),
            _by_numbering(policy, "register_code").label("segment_code"),
            _by_numbering(policy, "key").label("segment_key"),
            assessment.c.effective_at,
            assessment.c.recorded_at,
            assessment.c.recorded_by,
            assessment.c.model_id.label("model"),
            assessment.c.model_version,
            assessment.c.id.label("assessment_id"),
            status.label("status"),
            assessment.c.source,
            assessment.c.decided_code.label("code"),
        ).select_from(decisions)

    if window.full:
        return exportable(
            columns(sa.literal("active")),
            policy,
            window.until_tx,
            window.until_day,
            clients=clients,
        )
    assert window.since_day is not None
    changed: Any = _changed_clients(policy, window)
    if clients is not None:
        listed = changed.subquery()
        changed = sa.select(listed.c[0]).where(listed.c[0].in_(clients))
    ids = sa.select(assessment.c.id).select_from(decisions)
    now = assessment.c.id.in_(
        exportable(ids, policy, window.until_tx, window.until_day, clients=changed)
    )
    before = assessment.c.id.in_(
        exportable(
            ids, policy, window.since_tx, window.since_day, clients=changed, name="consent_before"
        )
    )
    status = sa.case((now, "active"), (_retracted(window.until_tx), "retracted"), else_="withdrawn")
    return columns(status).where(
        assessment.c.tenant == policy.tenant,
        assessment.c.client_id.in_(changed),
        assessment.c.change_tx < window.until_tx,
        now != before,
    )


def consents(policy: Policy, horizon: int, client_ids: sa.Select[Any]) -> sa.Select[Any]:
    """The health-register consent in force (below `horizon`) of each of some clients."""
    event = consent_event.alias("latest")
    ranked = (
        sa.select(
            event,
            sa.func.row_number()
            .over(
                partition_by=event.c.client_id,
                order_by=(event.c.at.desc(), event.c.recorded_at.desc()),
            )
            .label("rank"),
        )
        .where(
            event.c.tenant == policy.tenant,
            event.c.register_name == HEALTH,
            event.c.change_tx < horizon,
            event.c.client_id.in_(client_ids),
        )
        .subquery()
    )
    return sa.select(ranked).where(ranked.c.rank == 1)
