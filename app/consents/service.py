"""Consent events: recording one, listing them, and the consent in force at a moment."""

import functools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app.audit import service as audit
from app.auth import Principal
from app.clients import service as clients
from app.consents.models import ConsentEvent, consent_event
from app.consents.schemas import ConsentRequest, ConsentState
from app.db import Unit, insert_stamped, utc_now
from app.errors import invalid

HEALTH = "health"


def consent_at(
    events: Sequence[ConsentEvent], at: datetime, register: str = HEALTH
) -> ConsentEvent | None:
    """The consent event in force at `at`: the latest one that had taken effect by then.

    Events for the same moment are ordered by when they were recorded: the later record wins.
    """
    current = None
    for event in sorted(events, key=lambda e: (e.at, e.recorded_at)):
        if event.register_name != register:
            continue
        if event.at > at:
            break
        current = event
    return current


def state_at(events: Sequence[ConsentEvent], at: datetime) -> ConsentState:
    event = consent_at(events, at)
    return ConsentState(
        health_register=event.given if event else None, since=event.at if event else None
    )


@functools.cache
def _events_of_one() -> sa.Select[Any]:
    """The tenant is named as well as the client: the index on the events leads with it, and
    without it PostgreSQL read the whole index for each client (tests/test_query_plans.py)."""
    return (
        sa.select(consent_event)
        .where(
            consent_event.c.tenant == sa.bindparam("tenant", type_=sa.String),
            consent_event.c.client_id == sa.bindparam("client_id", type_=sa.Uuid),
        )
        .order_by(consent_event.c.at, consent_event.c.recorded_at)
    )


def events_statement() -> sa.Select[Any]:
    """The statement `events_of` runs (parameters `tenant` and `client_id`), for a write that
    reads them in its last statement; `events_from` makes its rows events."""
    return _events_of_one()


def events_from(rows: list[dict[str, Any]]) -> list[ConsentEvent]:
    return [ConsentEvent(**row) for row in rows]


async def events_of(unit: Unit, tenant: str, client_id: uuid.UUID) -> list[ConsentEvent]:
    """A client's consent events, oldest first."""
    parameters = {"tenant": tenant, "client_id": client_id}
    return events_from(await unit.fetch(_events_of_one(), parameters))


async def add(unit: Unit, event: ConsentEvent) -> ConsentEvent:
    await insert_stamped(unit, consent_event, event)
    return event


async def record(
    unit: Unit, *, principal: Principal, client_id: uuid.UUID, body: ConsentRequest
) -> ConsentEvent:
    if body.register_name == "social":
        raise invalid(
            "register",
            "structured recording into the social care register is not "
            "possible yet; only `health` consent can be recorded",
        )
    now = utc_now()
    if body.at is not None and body.at > now:
        raise invalid("at", "must not be in the future")
    await clients.require(unit, principal, client_id)
    await clients.lock(unit, client_id)
    event = await add(
        unit,
        ConsentEvent(
            tenant=principal.org,
            client_id=client_id,
            register_name=body.register_name,
            given=body.given,
            at=(body.at or now).astimezone(UTC),
            recorded_at=now,
            recorded_by=principal.sub,
            source="consent",
        ),
    )
    audit.record(unit, principal, client_id=client_id)
    return event


async def list_events(
    unit: Unit, *, principal: Principal, client_id: uuid.UUID
) -> list[ConsentEvent]:
    await clients.require(unit, principal, client_id)
    events = await events_of(unit, principal.org, client_id)
    audit.record(unit, principal, client_id=client_id)
    return events
