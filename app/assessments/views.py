"""Assessments, the segment in force and the timeline, presented in one language."""

from datetime import datetime

from app.assessments.models import Assessment, Retraction
from app.assessments.schemas import (
    AssessmentView,
    RegisterStatus,
    RetractionInfo,
    SegmentInForce,
    Timeline,
    TimelineItem,
)
from app.assessments.service import AssessmentRecord, History, InForce, SegmentRecord
from app.catalog.views import coordination, group_ref, implications, segment_ref
from app.consents import service as consents
from app.segmentation.catalog import ModelVersion
from app.segmentation.coordination import Holdings, reassess_by
from app.segmentation.registry import ModelRegistry
from app.segmentation.rules import register_status


def _model(registry: ModelRegistry, row: Assessment | InForce) -> ModelVersion:
    model = registry.version(row.model_id, row.model_version)
    assert model is not None, "a stored assessment's model version is no longer loaded"
    return model


def _retraction(retraction: Retraction | None) -> RetractionInfo | None:
    if retraction is None:
        return None
    return RetractionInfo(
        reason=retraction.reason,
        retracted_at=retraction.retracted_at,
        retracted_by=retraction.retracted_by,
    )


def assessment(registry: ModelRegistry, record: AssessmentRecord, lang: str) -> AssessmentView:
    row = record.assessment
    model = _model(registry, row)
    suggested = row.suggested_code
    return AssessmentView(
        assessment_id=row.id,
        client_id=row.client_id,
        model=model.id,
        model_version=model.version,
        suggested_segment=segment_ref(model, suggested, lang) if suggested else None,
        segment=segment_ref(model, row.decided_code, lang),
        overridden=suggested is not None and suggested != row.decided_code,
        override_reason=row.override_reason,
        explanation=row.explanation.get(lang, []),
        warnings=row.warnings.get(lang, []),
        attention=row.attention,
        details=row.details,
        answers=row.answers,
        effective_at=row.effective_at,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        discussed_with_client=row.discussed_with_client,
        consent=record.consent,
        status="active" if record.retraction is None else "retracted",
        source=row.source,
        retraction=_retraction(record.retraction),
    )


def segment_in_force(
    registry: ModelRegistry, record: SegmentRecord, holdings: Holdings, at: datetime, lang: str
) -> SegmentInForce:
    row = record.assessment
    model = _model(registry, row)
    segment = model.segment_by_code(row.decided_code)
    assert segment is not None
    due = reassess_by(row.effective_at, segment.reassess_after_days, holdings.plan_review_at)
    consent = record.consent_now
    return SegmentInForce(
        **segment_ref(model, segment.code, lang).model_dump(),
        model=model.id,
        model_version=model.version,
        group=group_ref(model, segment, lang),
        since=row.effective_at,
        assessment_id=row.id,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        implications=implications(model, segment, lang),
        description=segment.description[lang],
        promise=segment.promise[lang] if segment.promise else None,
        reassess_by=due.at if due else None,
        reassess_basis=due.basis if due else None,
        reassessment_due=due is not None and due.at <= at,
        coordination=coordination(segment, holdings),
        consent=consent,
        health_register=RegisterStatus(
            recordable=model.register is not None and consent.health_register is True,
            reason=register_status(model, segment, consent.health_register)[lang],
        ),
        language=lang,
    )


def timeline(registry: ModelRegistry, history: History, lang: str) -> Timeline:
    items = []
    for entry in history.entries:
        row, previous = entry.assessment, entry.previous
        model = _model(registry, row)
        items.append(
            TimelineItem(
                assessment_id=row.id,
                segment=segment_ref(model, row.decided_code, lang),
                previous_segment=(
                    segment_ref(_model(registry, previous), previous.decided_code, lang)
                    if previous is not None
                    else None
                ),
                changed=entry.changed,
                model=model.id,
                model_version=model.version,
                effective_at=row.effective_at,
                recorded_at=row.recorded_at,
                recorded_by=row.recorded_by,
                reason=row.override_reason,
                discussed_with_client=row.discussed_with_client,
                status="active" if entry.active else "retracted",
                retraction=_retraction(entry.retraction),
                source=row.source,
                consent=consents.state_at(history.consents, row.effective_at),
            )
        )
    return Timeline(items=items)
