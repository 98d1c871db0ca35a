"""Reading a client's segment: the one in force at a moment, and the whole timeline."""

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, select

from app.assessments.models import Assessment, Retraction
from app.assessments.schemas import RegisterStatus, SegmentInForce, Timeline, TimelineItem
from app.assessments.service import consent_events, consent_state, retraction_info
from app.assessments.timeline import Entry, entries, in_force
from app.audit import service as audit
from app.auth import Principal
from app.clients import service as clients
from app.db import utc_now
from app.errors import NotFound
from app.segmentation.registry import ModelRegistry
from app.segmentation.rules import register_status
from app.segmentation.views import group_ref, implications, segment_ref


def _timeline(session: Session, client_id: uuid.UUID) -> list[Entry]:
    assessments = list(session.exec(select(Assessment).where(Assessment.client_id == client_id)))
    ids = [a.id for a in assessments]
    retractions = (
        list(
            session.exec(
                select(Retraction).where(Retraction.assessment_id.in_(ids))  # type: ignore[attr-defined]
            )
        )
        if ids
        else []
    )
    return entries(assessments, retractions)


def segment_in_force(
    session: Session,
    *,
    principal: Principal,
    registry: ModelRegistry,
    client_id: uuid.UUID,
    at: datetime | None,
    lang: str,
) -> SegmentInForce:
    clients.get(session, principal, client_id, "read_segment")
    now = utc_now()
    entry = in_force(_timeline(session, client_id), at or now)
    if entry is None:
        audit.record_refusal(
            session, principal, operation="read_segment", client_id=client_id, outcome="no_segment"
        )
        raise NotFound("This client has no segment in force at that time.")
    assessment = entry.assessment
    model = registry.version(assessment.model_id, assessment.model_version)
    assert model is not None
    segment = model.segment_by_code(assessment.decided_code)
    assert segment is not None
    ref = segment_ref(model, segment.code, lang)
    reassess_by = assessment.effective_at + timedelta(days=segment.reassess_after_days)
    consent = consent_state(consent_events(session, client_id), now)
    result = SegmentInForce(
        **ref.model_dump(),
        model=model.id,
        model_version=model.version,
        group=group_ref(model, segment, lang),
        since=assessment.effective_at,
        assessment_id=assessment.id,
        recorded_at=assessment.recorded_at,
        recorded_by=assessment.recorded_by,
        implications=implications(model, segment, lang),
        description=segment.description[lang],
        promise=segment.promise[lang] if segment.promise else None,
        reassess_by=reassess_by,
        reassessment_due=reassess_by <= (at or now),
        consent=consent,
        health_register=RegisterStatus(
            recordable=model.register is not None and consent.health_register is True,
            reason=register_status(model, segment, consent.health_register)[lang],
        ),
        language=lang,
    )
    audit.record(session, principal, operation="read_segment", client_id=client_id)
    session.commit()
    return result


def history(
    session: Session,
    *,
    principal: Principal,
    registry: ModelRegistry,
    client_id: uuid.UUID,
    lang: str,
) -> Timeline:
    clients.get(session, principal, client_id, "read_segment_history")
    events = consent_events(session, client_id)
    items = []
    for entry in _timeline(session, client_id):
        assessment, previous = entry.assessment, entry.previous
        model = registry.version(assessment.model_id, assessment.model_version)
        assert model is not None
        previous_ref = None
        if previous is not None:
            previous_model = registry.version(previous.model_id, previous.model_version)
            assert previous_model is not None
            previous_ref = segment_ref(previous_model, previous.decided_code, lang)
        items.append(
            TimelineItem(
                assessment_id=assessment.id,
                segment=segment_ref(model, assessment.decided_code, lang),
                previous_segment=previous_ref,
                changed=entry.changed,
                model=model.id,
                model_version=model.version,
                effective_at=assessment.effective_at,
                recorded_at=assessment.recorded_at,
                recorded_by=assessment.recorded_by,
                reason=assessment.override_reason,
                status="active" if entry.active else "retracted",
                retraction=retraction_info(entry.retraction),
                source=assessment.source,
                consent=consent_state(events, assessment.effective_at),
            )
        )
    audit.record(session, principal, operation="read_segment_history", client_id=client_id)
    session.commit()
    return Timeline(items=items)
