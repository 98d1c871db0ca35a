"""The catalog as the API shows it: segment references and implications in one language."""

from app.segmentation.catalog import ModelVersion, Segment
from app.segmentation.schemas import GroupRef, Implication, SegmentRef


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
