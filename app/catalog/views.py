"""The catalog as the API shows it: model versions in every language at once, and the
segment references and implications other domains embed, in one language."""

from app.catalog.schemas import (
    AnswerDescription,
    ClassificationResult,
    CoordinationStatus,
    GroupRef,
    Implication,
    ImplicationText,
    ModelDetail,
    ModelList,
    ModelSummary,
    ModelVersionDescription,
    SegmentDescription,
    SegmentRef,
    ValueLabel,
)
from app.catalog.service import Decision
from app.schemas import LocalizedText
from app.segmentation.catalog import COORDINATION, AnswerSpec, ModelVersion, Segment, Text
from app.segmentation.coordination import Holdings, gaps
from app.segmentation.registry import ModelRegistry
from app.tenants import Tenant


def segment_ref(model: ModelVersion, code: int, lang: str) -> SegmentRef:
    segment = model.segment_by_code(code)
    assert segment is not None, (model.id, model.version, code)
    return SegmentRef(
        code=segment.code,
        key=segment.key,
        name=segment.name[lang],
        register_code=segment.register_code,
    )


def implications(model: ModelVersion, segment: Segment, lang: str) -> list[Implication]:
    return [
        Implication(aspect=aspect, label=label[lang], text=segment.implications[aspect][lang])
        for aspect, label in model.aspects.items()
    ]


def group_ref(model: ModelVersion, segment: Segment, lang: str) -> GroupRef:
    return GroupRef(key=segment.group, name=model.groups[segment.group][lang])


def coordination(segment: Segment, holdings: Holdings) -> CoordinationStatus:
    found = gaps(segment.coordination, holdings)
    return CoordinationStatus(
        needs={kind: segment.coordination[kind] for kind in COORDINATION},
        held={kind: holdings.has(kind) for kind in COORDINATION},
        missing=list(found.missing),
        advised=list(found.advised),
    )


def classification(decision: Decision, lang: str) -> ClassificationResult:
    result = decision.classification
    return ClassificationResult(
        model=decision.model.id,
        model_version=decision.model.version,
        suggested_segment=segment_ref(decision.model, result.segment.code, lang),
        explanation=[step[lang] for step in result.explanation],
        warnings=[step[lang] for step in result.warnings],
        attention=result.attention,
    )


def _text(text: Text) -> LocalizedText:
    return LocalizedText(fi=text["fi"], sv=text["sv"], en=text["en"])


def model_list(registry: ModelRegistry, tenant: Tenant, model_ids: list[str]) -> ModelList:
    items = []
    for model_id in model_ids:
        latest = registry.latest(model_id)
        assert latest is not None
        items.append(
            ModelSummary(
                id=model_id,
                name=_text(latest.name),
                latest_version=latest.version,
                register_name=latest.register,
                default=model_id == tenant.default_model,
            )
        )
    return ModelList(default_model=tenant.default_model, items=items)


def _answer(spec: AnswerSpec) -> AnswerDescription:
    return AnswerDescription(
        name=spec.name,
        kind=spec.kind,
        required=spec.required,
        label=_text(spec.label),
        values=[ValueLabel(value=v, label=_text(spec.value_labels[v])) for v in spec.values],
        keys=[ValueLabel(value=k, label=_text(spec.key_labels[k])) for k in spec.keys],
        minimum=spec.minimum,
    )


def _segment(model: ModelVersion, segment: Segment) -> SegmentDescription:
    return SegmentDescription(
        code=segment.code,
        key=segment.key,
        register_code=segment.register_code,
        names=_text(segment.name),
        group=segment.group,
        group_names=_text(model.groups[segment.group]),
        implications=[
            ImplicationText(aspect=a, label=_text(label), text=_text(segment.implications[a]))
            for a, label in model.aspects.items()
        ],
        description=_text(segment.description),
        promise=_text(segment.promise) if segment.promise else None,
        coordination=dict(segment.coordination),
        reassess_after_days=segment.reassess_after_days,
        placed_by=dict(segment.when),
    )


def model_detail(registry: ModelRegistry, tenant: Tenant, model: ModelVersion) -> ModelDetail:
    return ModelDetail(
        id=model.id,
        name=_text(model.name),
        source=_text(model.source),
        register_name=model.register,
        rule=model.rule,
        parameters=dict(model.parameters),
        parameters_basis=model.parameters_basis,
        parameters_note=_text(model.parameters_note) if model.parameters_note else None,
        register_note=_text(model.register_note) if model.register_note else None,
        version=model.version,
        valid_from=model.valid_from,
        valid_until=model.valid_until,
        withdrawn_on=model.withdrawn_on,
        versions=[
            ModelVersionDescription(
                version=v.version,
                valid_from=v.valid_from,
                valid_until=v.valid_until,
                withdrawn_on=v.withdrawn_on,
            )
            for v in registry.get_versions(model.id)
        ],
        answers=[_answer(a) for a in model.answers],
        segments=[_segment(model, s) for s in model.segments],
    )
