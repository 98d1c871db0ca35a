"""A county's own wording and policies laid over a model version, without touching code.

From the tenants file (docs/tenants.md): wording may replace, per segment, the `name`,
`description`, `promise` and any aspect of `implications`, in any of the languages (what is
left out keeps the model file's text), and the coordination a segment requires; policies set
the re-assessment interval of each segment and, for a model without one, a register
numbering. Rules and answers cannot be overridden: a county that classifies differently
publishes its own model version.
"""

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from app.segmentation.catalog import (
    COORDINATION,
    LANGUAGES,
    NEEDS,
    ModelFileError,
    ModelVersion,
    Segment,
    Text,
)

SEGMENT_TEXTS = ("name", "description", "promise")


def _merge(base: Text | None, override: Any, where: str) -> Text:
    if not isinstance(override, dict) or not override:
        raise ModelFileError(f"{where}: expected a table of fi, sv, en texts")
    unknown = sorted(set(override) - set(LANGUAGES))
    if unknown:
        raise ModelFileError(f"{where}: unknown languages {', '.join(unknown)}")
    if any(not isinstance(v, str) or not v.strip() for v in override.values()):
        raise ModelFileError(f"{where}: texts must be non-empty strings")
    if base is None and set(override) != set(LANGUAGES):
        raise ModelFileError(f"{where}: a new text needs all of fi, sv, en")
    merged = dict(base or {})
    merged.update(override)
    return MappingProxyType(merged)


def _segment(model: ModelVersion, segment: Segment, raw: Any, where: str) -> Segment:
    if not isinstance(raw, dict):
        raise ModelFileError(f"{where}: expected a table")
    unknown = sorted(set(raw) - {*SEGMENT_TEXTS, "implications", "coordination"})
    if unknown:
        raise ModelFileError(
            f"{where}: only texts and coordination can be overridden, not {', '.join(unknown)}"
        )
    changes: dict[str, Any] = {
        name: _merge(getattr(segment, name), raw[name], f"{where}.{name}")
        for name in SEGMENT_TEXTS
        if name in raw
    }
    implications = raw.get("implications", {})
    if not isinstance(implications, dict):
        raise ModelFileError(f"{where}.implications: expected a table")
    unknown_aspects = sorted(set(implications) - set(model.aspects))
    if unknown_aspects:
        raise ModelFileError(f"{where}.implications: unknown aspects {unknown_aspects}")
    if implications:
        merged = dict(segment.implications)
        for aspect, text in implications.items():
            merged[aspect] = _merge(merged[aspect], text, f"{where}.implications.{aspect}")
        changes["implications"] = MappingProxyType(merged)
    coordination = raw.get("coordination", {})
    if not isinstance(coordination, dict) or set(coordination) - set(COORDINATION):
        raise ModelFileError(f"{where}.coordination: keys are {', '.join(COORDINATION)}")
    if any(need not in NEEDS for need in coordination.values()):
        raise ModelFileError(f"{where}.coordination: values are {', '.join(NEEDS)}")
    if coordination:
        changes["coordination"] = MappingProxyType({**segment.coordination, **coordination})
    return replace(segment, **changes)


def apply_overrides(model: ModelVersion, overrides: Mapping[str, Any], where: str) -> ModelVersion:
    """The model version with the tenant's wording; raises ModelFileError naming the place."""
    unknown = sorted(set(overrides) - {"name", "segments"})
    if unknown:
        raise ModelFileError(f"{where}: only `name` and `segments` can be overridden")
    segments_raw = overrides.get("segments", {})
    if not isinstance(segments_raw, dict):
        raise ModelFileError(f"{where}.segments: expected a table keyed by segment key")
    keys = {s.key for s in model.segments}
    unknown_keys = sorted(set(segments_raw) - keys)
    if unknown_keys:
        raise ModelFileError(
            f"{where}.segments: {model.id} {model.version} has no segment {', '.join(unknown_keys)}"
        )
    segments = tuple(
        _segment(model, s, segments_raw[s.key], f"{where}.segments.{s.key}")
        if s.key in segments_raw
        else s
        for s in model.segments
    )
    name = (
        _merge(model.name, overrides["name"], f"{where}.name")
        if "name" in overrides
        else model.name
    )
    return replace(model, segments=segments, name=name)


def _by_key(model: ModelVersion, raw: Any, where: str) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise ModelFileError(f"{where}: expected a table keyed by segment key")
    keys = {s.key for s in model.segments}
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise ModelFileError(f"{where}: {model.id} has no segment {', '.join(unknown)}")
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelFileError(f"{where}.{key}: expected a whole number ≥ 1")
    return dict(raw)


def apply_reassessment(model: ModelVersion, raw: Any, where: str) -> ModelVersion:
    """Each segment's re-assessment interval in days, the tenant's policy."""
    days = _by_key(model, raw, where)
    return replace(
        model,
        segments=tuple(replace(s, reassess_after_days=days.get(s.key)) for s in model.segments),
    )


def apply_register(model: ModelVersion, codes_raw: Any, note: Text, where: str) -> ModelVersion:
    """A health-register numbering the tenant gives a model that has none of its own."""
    if model.register is not None:
        raise ModelFileError(f"{where}: {model.id} {model.version} has its own register numbering")
    codes = _by_key(model, codes_raw, where)
    missing = sorted({s.key for s in model.segments} - set(codes))
    if missing:
        raise ModelFileError(f"{where}: every segment needs a code; missing {', '.join(missing)}")
    if len(set(codes.values())) != len(codes):
        raise ModelFileError(f"{where}: two segments cannot share a register code")
    return replace(
        model,
        register="health",
        register_note=note,
        segments=tuple(replace(s, register_code=codes[s.key]) for s in model.segments),
    )
