"""A county's own wording laid over a model's catalog texts, without touching code.

Overrides come from the tenants file and may replace, per segment, the `name`, `description`,
`promise` and any aspect of `implications`, in any of the languages; what they leave out keeps
the model file's text. Rules, codes and answers cannot be overridden: a county that classifies
differently publishes its own model version.
"""

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from app.segmentation.catalog import LANGUAGES, ModelFileError, ModelVersion, Segment, Text

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
    unknown = sorted(set(raw) - {*SEGMENT_TEXTS, "implications"})
    if unknown:
        raise ModelFileError(f"{where}: only texts can be overridden, not {', '.join(unknown)}")
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
