"""Submitting, reading and retracting assessments.

Each write is one transaction: the client (created on first sight), the assessment, the consent
event it carries, the access-log line and the idempotency record commit together or not at all.
Writers for one client are serialised by a row lock on the client (PostgreSQL) or by SQLite's
single writer, and the per-client sequence backs that up with a unique constraint.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from app.assessments.models import Assessment, ConsentEvent, Retraction
from app.assessments.schemas import (
    AssessmentRequest,
    AssessmentView,
    ConsentState,
    RetractionInfo,
    RetractionRequest,
)
from app.assessments.timeline import consent_at
from app.audit import service as audit
from app.auth import Principal
from app.clients import service as clients
from app.clients.identity import IdentityProtector
from app.clients.models import Client
from app.db import utc_now
from app.errors import Conflict, Forbidden, NotFound
from app.idempotency import Idempotency, run_once
from app.segmentation.catalog import LANGUAGES, Text
from app.segmentation.registry import ModelRegistry
from app.segmentation.service import decide
from app.segmentation.views import segment_ref


def by_language(steps: Sequence[Text]) -> dict[str, list[str]]:
    return {language: [step[language] for step in steps] for language in LANGUAGES}


def lock_client(session: Session, client_id: uuid.UUID) -> Client:
    """Take the client's row lock for the rest of the transaction (a no-op on SQLite, whose
    transactions here already begin with the database's write lock)."""
    return session.exec(select(Client).where(Client.id == client_id).with_for_update()).one()


def next_sequence(session: Session, client_id: uuid.UUID) -> int:
    current = session.exec(
        select(sa.func.max(Assessment.sequence)).where(Assessment.client_id == client_id)
    ).one()
    return (current or 0) + 1


def consent_events(session: Session, client_id: uuid.UUID) -> list[ConsentEvent]:
    return list(session.exec(select(ConsentEvent).where(ConsentEvent.client_id == client_id)))


def consent_state(events: list[ConsentEvent], at: datetime) -> ConsentState:
    event = consent_at(events, at)
    return ConsentState(
        health_register=event.given if event else None, since=event.at if event else None
    )


def retraction_info(retraction: Retraction | None) -> RetractionInfo | None:
    if retraction is None:
        return None
    return RetractionInfo(
        reason=retraction.reason,
        retracted_at=retraction.retracted_at,
        retracted_by=retraction.retracted_by,
    )


def view(
    registry: ModelRegistry,
    assessment: Assessment,
    retraction: Retraction | None,
    events: list[ConsentEvent],
    lang: str,
) -> AssessmentView:
    model = registry.version(assessment.model_id, assessment.model_version)
    assert model is not None, "a stored assessment's model version is no longer loaded"
    suggested = assessment.suggested_code
    return AssessmentView(
        assessment_id=assessment.id,
        client_id=assessment.client_id,
        model=model.id,
        model_version=model.version,
        suggested_segment=segment_ref(model, suggested, lang) if suggested else None,
        segment=segment_ref(model, assessment.decided_code, lang),
        overridden=suggested is not None and suggested != assessment.decided_code,
        override_reason=assessment.override_reason,
        explanation=assessment.explanation.get(lang, []),
        warnings=assessment.warnings.get(lang, []),
        attention=assessment.attention,
        details=assessment.details,
        answers=assessment.answers,
        effective_at=assessment.effective_at,
        recorded_at=assessment.recorded_at,
        recorded_by=assessment.recorded_by,
        consent=consent_state(events, assessment.effective_at),
        status="active" if retraction is None else "retracted",
        source=assessment.source,
        retraction=retraction_info(retraction),
    )


def submit(
    session: Session,
    *,
    principal: Principal,
    registry: ModelRegistry,
    protector: IdentityProtector,
    body: AssessmentRequest,
    lang: str,
    idempotency: Idempotency,
) -> tuple[AssessmentView, bool]:
    """Record an assessment; returns it and whether this was a replay of an earlier request."""
    if body.consent is not None and "consents:write" not in principal.scopes:
        raise Forbidden("Recording consent with an assessment needs the scope `consents:write`.")
    now = utc_now()
    decision = decide(registry, principal.tenant, body, now)
    texts = decision.classification

    def work() -> AssessmentView:
        client = clients.find_or_create(session, protector, principal, body.client)
        lock_client(session, client.id)
        assessment = Assessment(
            tenant=principal.org,
            client_id=client.id,
            sequence=next_sequence(session, client.id),
            model_id=decision.model.id,
            model_version=decision.model.version,
            answers=body.answers,
            details=body.details,
            suggested_code=texts.segment.code,
            decided_code=decision.decided_code,
            override_reason=body.override_reason,
            explanation=by_language(texts.explanation),
            warnings=by_language(texts.warnings),
            attention=texts.attention,
            effective_at=decision.effective_at,
            recorded_at=now,
            recorded_by=principal.sub,
            source="assessment",
        )
        session.add(assessment)
        session.flush()
        if body.consent is not None:
            session.add(
                ConsentEvent(
                    tenant=principal.org,
                    client_id=client.id,
                    register_name="health",
                    given=body.consent.health_register,
                    at=decision.effective_at,
                    recorded_at=now,
                    recorded_by=principal.sub,
                    source="assessment",
                    assessment_id=assessment.id,
                )
            )
        audit.record(session, principal, operation="submit_assessment", client_id=client.id)
        session.flush()
        return view(registry, assessment, None, consent_events(session, client.id), lang)

    return run_once(
        session,
        principal,
        idempotency,
        operation="submit_assessment",
        target="",
        body=body,
        response_type=AssessmentView,
        work=work,
    )


def _load(
    session: Session, principal: Principal, assessment_id: uuid.UUID, operation: str
) -> Assessment:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None or assessment.tenant != principal.org:
        audit.record_refusal(
            session, principal, operation=operation, client_id=None, outcome="not_found"
        )
        raise NotFound("No such assessment.")
    return assessment


def _retraction(session: Session, assessment_id: uuid.UUID) -> Retraction | None:
    return session.exec(select(Retraction).where(Retraction.assessment_id == assessment_id)).first()


def get(
    session: Session,
    *,
    principal: Principal,
    registry: ModelRegistry,
    assessment_id: uuid.UUID,
    lang: str,
) -> AssessmentView:
    assessment = _load(session, principal, assessment_id, "read_assessment")
    result = view(
        registry,
        assessment,
        _retraction(session, assessment.id),
        consent_events(session, assessment.client_id),
        lang,
    )
    audit.record(session, principal, operation="read_assessment", client_id=assessment.client_id)
    session.commit()
    return result


def retract(
    session: Session,
    *,
    principal: Principal,
    registry: ModelRegistry,
    assessment_id: uuid.UUID,
    body: RetractionRequest,
    lang: str,
    idempotency: Idempotency,
) -> tuple[AssessmentView, bool]:
    def work() -> AssessmentView:
        assessment = _load(session, principal, assessment_id, "retract_assessment")
        lock_client(session, assessment.client_id)
        if _retraction(session, assessment.id) is not None:
            raise Conflict("This assessment has already been retracted.")
        retraction = Retraction(
            tenant=principal.org,
            assessment_id=assessment.id,
            reason=body.reason,
            retracted_at=utc_now(),
            retracted_by=principal.sub,
        )
        session.add(retraction)
        audit.record(
            session, principal, operation="retract_assessment", client_id=assessment.client_id
        )
        session.flush()
        return view(
            registry, assessment, retraction, consent_events(session, assessment.client_id), lang
        )

    return run_once(
        session,
        principal,
        idempotency,
        operation="retract_assessment",
        target=str(assessment_id),
        body=body,
        response_type=AssessmentView,
        work=work,
    )
