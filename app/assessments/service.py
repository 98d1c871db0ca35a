"""Submitting and retracting assessments, and reading a client's segment and timeline.

The commands return what they wrote, not a view of it: presenting in a language is
views.py's work, so a set-based import can reuse a command without building views. Writers
for one client are serialised by a row lock on the client (PostgreSQL) or by SQLite's single
writer, and the per-client sequence backs that up with a unique constraint.
"""

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.assessments import current
from app.assessments.models import (
    Assessment,
    Retraction,
    assessment,
    retraction,
    segment_now,
    segment_span,
)
from app.assessments.schemas import AssessmentRequest, RetractionRequest
from app.assessments.timeline import Entry, entries
from app.audit import service as audit
from app.audit.models import access_log
from app.auth import Principal
from app.catalog.service import decide
from app.clients import service as clients
from app.clients.identity import IdentityProtector
from app.clients.models import client
from app.consents import service as consents
from app.consents.models import ConsentEvent, consent_event
from app.consents.schemas import ConsentState
from app.db import PG_TRANSACTION_ID, Unit, insert_stamped, utc_now
from app.errors import AccessAttempt, Conflict, Forbidden, NotFound
from app.ids import new_id
from app.segmentation.catalog import LANGUAGES, Text
from app.segmentation.registry import ModelRegistry


@dataclass(frozen=True)
class AssessmentRecord:
    """An assessment as stored, its retraction if any, and the consent in force when it took
    effect."""

    assessment: Assessment
    retraction: Retraction | None
    consent: ConsentState


@dataclass(frozen=True)
class InForce:
    """What the segment read shows of the assessment in force (the read selects only this:
    building the whole stored row was a twelfth of its CPU)."""

    id: uuid.UUID
    model_id: str
    model_version: str
    decided_code: int
    effective_at: datetime
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class SegmentRecord:
    """The assessment in force and the client's consent now."""

    assessment: InForce
    consent_now: ConsentState


IN_FORCE = tuple(field.name for field in fields(InForce))


@dataclass(frozen=True)
class History:
    entries: list[Entry]
    consents: list[ConsentEvent]


def _by_language(steps: Sequence[Text]) -> dict[str, list[str]]:
    return {language: [step[language] for step in steps] for language in LANGUAGES}


async def _record(unit: Unit, row: Assessment, retracted: Retraction | None) -> AssessmentRecord:
    events = await consents.events_of(unit, row.tenant, row.client_id)
    return AssessmentRecord(row, retracted, consents.state_at(events, row.effective_at))


async def submit(
    unit: Unit,
    *,
    principal: Principal,
    registry: ModelRegistry,
    protector: IdentityProtector,
    body: AssessmentRequest,
) -> AssessmentRecord:
    """Record an assessment: the suggestion, the professional's decision and the consent."""
    if body.consent is not None and "consents:write" not in principal.scopes:
        raise Forbidden("Recording consent with an assessment needs the scope `consents:write`.")
    now = utc_now()
    decision = decide(registry, principal.tenant, body, now)
    texts = decision.classification
    values: dict[str, Any] = {
        "id": new_id(),
        "tenant": principal.org,
        "model_id": decision.model.id,
        "model_version": decision.model.version,
        "answers": body.answers,
        "details": body.details,
        "suggested_code": texts.segment.code,
        "decided_code": decision.decided_code,
        "override_reason": body.override_reason,
        "explanation": _by_language(texts.explanation),
        "warnings": _by_language(texts.warnings),
        "attention": texts.attention,
        "effective_at": decision.effective_at,
        "recorded_at": now,
        "recorded_by": principal.sub,
        "source": "assessment",
        "discussed_with_client": body.discussed_with_client,
    }
    identity = body.client.identity()
    claim = None
    if unit.dialect == "postgresql":
        claim = clients.claim_parameters(protector, principal, identity)
    if claim is not None and body.consent is None and not unit.touched:
        record = await _submit_in_one_call(unit, principal, claim, values)
        if record is not None:
            return record
    taken = None
    if claim is not None:
        unit.prefer_direct()  # every statement below is built once, but a fallback claim's
        taken = await _claim_and_record(unit, principal, claim, values)
    if taken is None:
        await unit.leave_direct()  # nothing was written: claim as ever, through SQLAlchemy
        client_id, sequence = await clients.claim(
            unit, protector=protector, principal=principal, identity=identity
        )
        row = Assessment(client_id=client_id, sequence=sequence, **values)
        await insert_stamped(unit, assessment, row)
        audit.record(unit, principal, client_id=client_id)
    else:
        row = Assessment(client_id=taken.client_id, sequence=taken.sequence, **values)
        if taken.created and body.consent is None:
            # In force with its projections already; a client created now has no consents.
            return AssessmentRecord(row, None, consents.state_at([], row.effective_at))
    if body.consent is None:
        # The consent events the response shows, read by the write's last statement.
        events = await current.took_effect(unit, row, reading=consents.events_statement())
        if events is not None:
            state = consents.state_at(consents.events_from(events), row.effective_at)
            return AssessmentRecord(row, None, state)
        return await _record(unit, row, None)
    if taken is None or not taken.created:
        await current.took_effect(unit, row)
    await consents.add(
        unit,
        ConsentEvent(
            tenant=principal.org,
            client_id=row.client_id,
            register_name=consents.HEALTH,
            given=body.consent.health_register,
            at=decision.effective_at,
            recorded_at=now,
            recorded_by=principal.sub,
            source="assessment",
            assessment_id=row.id,
        ),
    )
    return await _record(unit, row, None)


_RECORDED = tuple(
    c.name for c in assessment.columns if c.name not in ("client_id", "sequence", "change_tx")
)
_LOGGED = tuple(c.name for c in access_log.columns if c.name != "client_id")


def _given(prefix: str, table: sa.Table, names: tuple[str, ...]) -> list[Any]:
    """Bound parameters `prefix` + each name, typed as `table`'s column of that name (a name
    the table lacks, such as a key's check value, as text)."""
    return [
        sa.bindparam(f"{prefix}{name}", type_=table.c[name].type if name in table.c else sa.String)
        for name in names
    ]


@functools.cache
def _claimed_and_recorded() -> Any:
    """PostgreSQL: a submission's client claimed (created, or its row locked and its next
    number taken), its assessment inserted with that number and its access-log row written,
    in one statement (parameters: `clients.claim_parameters`', then `assessment_` and `log_`
    + the columns). Three round trips were one each (issue 10). Nothing is written when
    `claimed` finds no row; the caller then claims as ever.

    A client this statement creates (its row has the id the parameters brought: a client
    found has its own) gets its projections here too: its only decision is in force, from
    when it took effect, with nothing after it — what `current.took_effect` would derive, a
    round trip later. No other decision of the client can exist: another transaction would
    wait on the new row's key until this one ends. A client found is left to `took_effect`,
    whose statement begins after this one has locked the client, and so sees every decision
    committed before (this statement's own snapshot was taken before it waited for the
    lock)."""
    claimed = clients.claimed()

    created = claimed.c.id == sa.bindparam("id", type_=sa.Uuid)
    # The projections' columns, from the assessment's own parameters.
    recorded_as = dict(zip(_RECORDED, _given("assessment_", assessment, _RECORDED), strict=True))
    decision = {
        projected: recorded_as[name]
        for projected, name in (
            ("tenant", "tenant"),
            ("assessment_id", "id"),
            ("model_id", "model_id"),
            ("model_version", "model_version"),
            ("decided_code", "decided_code"),
            ("valid_from", "effective_at"),
        )
    }
    in_force = (
        sa.insert(segment_now)
        .from_select(
            ["client_id", *decision], sa.select(claimed.c.id, *decision.values()).where(created)
        )
        .returning(segment_now.c.client_id)
        .cte("in_force")
    )
    spanned = (
        sa.insert(segment_span)
        .from_select(
            ["client_id", *decision, "valid_to"],
            sa.select(
                claimed.c.id, *decision.values(), sa.null().cast(segment_span.c.valid_to.type)
            ).where(created),
        )
        .returning(segment_span.c.client_id)
        .cte("spanned")
    )

    recorded = (
        sa.insert(assessment)
        .from_select(
            [*_RECORDED, "client_id", "sequence", "change_tx"],
            sa.select(
                *_given("assessment_", assessment, _RECORDED),
                claimed.c.id,
                claimed.c.last_sequence,
                PG_TRANSACTION_ID,
            ),
        )
        .returning(assessment.c.id)
        .cte("recorded")
    )
    logged = (
        sa.insert(access_log)
        .from_select(
            [*_LOGGED, "client_id"], sa.select(*_given("log_", access_log, _LOGGED), claimed.c.id)
        )
        .returning(access_log.c.id)
        .cte("logged")
    )
    written = (
        sa.select(sa.func.count()).select_from(recorded).scalar_subquery()
        + sa.select(sa.func.count()).select_from(logged).scalar_subquery()
    )
    projected = (
        sa.select(sa.func.count()).select_from(in_force).scalar_subquery()
        + sa.select(sa.func.count()).select_from(spanned).scalar_subquery()
    )
    return sa.select(
        claimed.c.id,
        claimed.c.last_sequence,
        written.label("written"),
        projected.label("projected"),
        created.label("created"),
    ).add_cte(recorded, logged, in_force, spanned)


@dataclass(frozen=True)
class _Taken:
    client_id: uuid.UUID
    sequence: int
    # The client was created by the statement, its projections written with its decision.
    created: bool


async def _claim_and_record(
    unit: Unit, principal: Principal, claim: dict[str, Any], values: dict[str, Any]
) -> _Taken | None:
    """The client and number `_claimed_and_recorded` took, or None if it wrote nothing."""
    log = audit.entry(principal, client_id=None)
    parameters = {
        **claim,
        **{f"assessment_{name}": values[name] for name in _RECORDED},
        **{f"log_{name}": log[name] for name in _LOGGED},
    }
    rows = await unit.fetch(_claimed_and_recorded(), parameters)
    if not rows:
        return None
    row = rows[0]
    assert row["written"] == 2, "the assessment or its access-log row was not written"
    assert row["projected"] == (2 if row["created"] else 0), "a new client's projections"
    return _Taken(row["id"], int(row["last_sequence"]), bool(row["created"]))


# The parameters of migrations/versions/…_submission_in_one_call.py's `segmentti_submit`, in
# its order: the tenant, then the client's (`clients.claim_parameters`), the assessment's and
# the access-log row's columns.
_CALL_CLIENT = (
    "id", "identity_index", "identity_kind", "hetu_encrypted", "external_system",
    "external_value", "created_at", "created_by", "birth_date", "data_check", "index_check",
)  # fmt: skip
_CALL_ASSESSMENT = (
    "id", "model_id", "model_version", "answers", "details", "suggested_code", "decided_code",
    "override_reason", "explanation", "warnings", "attention", "effective_at", "recorded_at",
    "recorded_by", "discussed_with_client",
)  # fmt: skip
_CALL_LOG = ("id", "at", "actor", "operation", "purpose", "outcome")
_EVENT_COLUMNS = tuple(
    c.name for c in consent_event.columns if c.name not in ("tenant", "client_id")
)


@functools.cache
def _submitted() -> sa.Select[Any]:
    """PostgreSQL: `segmentti_submit` — a submission without consent as one autocommitted
    call (issue 10): the client claimed, the assessment, its access-log row and projections
    written, the client's consent events returned (a row each; one row of NULLs for none).
    No row: the keys are not current and nothing was written."""

    call = sa.func.segmentti_submit(
        sa.bindparam("tenant", type_=sa.String),
        *_given("client_", client, _CALL_CLIENT),
        *_given("assessment_", assessment, _CALL_ASSESSMENT),
        *_given("log_", access_log, _CALL_LOG),
    ).table_valued(
        sa.column("client_id", sa.Uuid),
        sa.column("last_sequence", sa.Integer),
        sa.column("created", sa.Boolean),
        *(sa.column(f"event_{name}", consent_event.c[name].type) for name in _EVENT_COLUMNS),
    )
    return sa.select(call)


async def _submit_in_one_call(
    unit: Unit, principal: Principal, claim: dict[str, Any], values: dict[str, Any]
) -> AssessmentRecord | None:
    """The submission as `_submitted`, or None if it wrote nothing (the caller claims as
    ever). Its own transaction: only for a unit with no other work."""
    log = audit.entry(principal, client_id=None)
    parameters = {
        "tenant": principal.org,
        **{f"client_{name}": claim[name] for name in _CALL_CLIENT},
        **{f"assessment_{name}": values[name] for name in _CALL_ASSESSMENT},
        **{f"log_{name}": log[name] for name in _CALL_LOG},
    }
    rows = await unit.write_alone(_submitted(), parameters)
    if not rows:
        return None
    first = rows[0]
    row = Assessment(client_id=first["client_id"], sequence=int(first["last_sequence"]), **values)
    events = [
        ConsentEvent(
            tenant=row.tenant,
            client_id=row.client_id,
            **{name: event[f"event_{name}"] for name in _EVENT_COLUMNS},
        )
        for event in rows
        if event["event_id"] is not None
    ]
    return AssessmentRecord(row, None, consents.state_at(events, row.effective_at))


async def _load(unit: Unit, principal: Principal, assessment_id: uuid.UUID) -> Assessment:
    row = (
        await unit.execute(sa.select(assessment).where(assessment.c.id == assessment_id))
    ).first()
    if row is None:
        raise NotFound("No such assessment.", attempt=AccessAttempt(None, "not_found"))
    if row.tenant != principal.org:
        attempt = AccessAttempt(row.client_id, "not_found", row.tenant)
        raise NotFound("No such assessment.", attempt=attempt)
    return Assessment(**row._mapping)


async def _retraction_of(unit: Unit, assessment_id: uuid.UUID) -> Retraction | None:
    row = (
        await unit.execute(sa.select(retraction).where(retraction.c.assessment_id == assessment_id))
    ).first()
    return Retraction(**row._mapping) if row else None


async def read(unit: Unit, *, principal: Principal, assessment_id: uuid.UUID) -> AssessmentRecord:
    row = await _load(unit, principal, assessment_id)
    record = await _record(unit, row, await _retraction_of(unit, row.id))
    audit.record(unit, principal, client_id=row.client_id)
    return record


async def retract(
    unit: Unit, *, principal: Principal, assessment_id: uuid.UUID, body: RetractionRequest
) -> AssessmentRecord:
    """Mark an assessment as entered in error; nothing is deleted."""
    row = await _load(unit, principal, assessment_id)
    await clients.lock(unit, row.client_id)
    if await _retraction_of(unit, row.id) is not None:
        raise Conflict("This assessment has already been retracted.")
    retracted = Retraction(
        tenant=principal.org,
        assessment_id=row.id,
        reason=body.reason,
        retracted_at=utc_now(),
        retracted_by=principal.sub,
    )
    await insert_stamped(unit, retraction, retracted)
    await current.refresh(unit, principal.org, [row.client_id])
    audit.record(unit, principal, client_id=row.client_id)
    return await _record(unit, row, retracted)


async def history(unit: Unit, *, principal: Principal, client_id: uuid.UUID) -> History:
    await clients.require(unit, principal, client_id)
    rows = await unit.execute(sa.select(assessment).where(assessment.c.client_id == client_id))
    assessments = [Assessment(**row._mapping) for row in rows]
    retractions = [
        Retraction(**row._mapping)
        for row in await unit.execute(
            sa.select(retraction)
            .join(assessment, assessment.c.id == retraction.c.assessment_id)
            .where(assessment.c.client_id == client_id)
        )
    ]
    events = await consents.events_of(unit, principal.org, client_id)
    audit.record(unit, principal, client_id=client_id)
    return History(entries(assessments, retractions), events)
