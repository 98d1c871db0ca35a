"""Model files → immutable model versions, validated completely or not at all.

A county's model is read from TOML (see docs/model-files.md). Loading checks everything a
classification or a catalog response will rely on, so a malformed file stops the service at
start with the file and the problem named, instead of failing one request later.
"""

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

LANGUAGES = ("fi", "sv", "en")
ANSWER_KINDS = ("choice", "integer", "boolean", "choice_list", "levels")
RULES = ("grid", "service_use")
SERVICE_USE_PARAMETERS = (
    "unplanned_heavy",
    "unplanned_rising_minimum",
    "planned_regular",
    "attention_risk_factors",
)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_KEY = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_VERSION = re.compile(r"^[A-Za-z0-9._-]{1,32}$")

Text = Mapping[str, str]


class ModelFileError(Exception):
    """A model file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class AnswerSpec:
    name: str
    kind: str
    required: bool
    label: Text
    values: tuple[str, ...] = ()
    value_labels: Mapping[str, Text] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    key_labels: Mapping[str, Text] = field(default_factory=dict)
    minimum: int | None = None


@dataclass(frozen=True)
class Segment:
    code: int
    key: str
    register_code: int | None
    group: str
    name: Text
    description: Text
    implications: Mapping[str, Text]
    reassess_after_days: int
    when: Mapping[str, str] = field(default_factory=dict)
    typical_duration: str | None = None
    promise: Text | None = None


@dataclass(frozen=True)
class ModelVersion:
    id: str
    version: str
    valid_from: date
    rule: str
    register: str | None
    name: Text
    source: Text
    answers: tuple[AnswerSpec, ...]
    aspects: Mapping[str, Text]
    groups: Mapping[str, Text]
    segments: tuple[Segment, ...]
    parameters: Mapping[str, int]
    path: str = ""

    def answer(self, name: str) -> AnswerSpec | None:
        return next((a for a in self.answers if a.name == name), None)

    def segment_by_code(self, code: int) -> Segment | None:
        return next((s for s in self.segments if s.code == code), None)


class _Reader:
    """Reads one file's tables, raising ModelFileError with the path of the offending key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ModelFileError:
        return ModelFileError(f"{self.path}: {where}: {problem}")

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        where: str,
        required: bool = True,
    ) -> Any:
        if key not in table:
            if required:
                raise self.fail(f"{where}.{key}".lstrip("."), "missing")
            return None
        value = table[key]
        if isinstance(value, bool) and kind is int:
            raise self.fail(f"{where}.{key}".lstrip("."), "expected an integer")
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(f"{where}.{key}".lstrip("."), f"expected {names}")
        return value

    def optional_text(self, table: Mapping[str, Any], key: str, where: str) -> Text | None:
        return self.text(table, key, where) if key in table else None

    def text(self, table: Mapping[str, Any], key: str, where: str) -> Text:
        value = self.get(table, key, dict, where)
        here = f"{where}.{key}".lstrip(".")
        missing = [lang for lang in LANGUAGES if not str(value.get(lang, "")).strip()]
        if missing:
            raise self.fail(here, f"needs non-empty text in {', '.join(missing)}")
        extra = sorted(set(value) - set(LANGUAGES))
        if extra:
            raise self.fail(here, f"unknown languages {', '.join(extra)}")
        return MappingProxyType({lang: str(value[lang]) for lang in LANGUAGES})

    def texts(
        self, table: Mapping[str, Any], key: str, where: str, required: bool = True
    ) -> Mapping[str, Text]:
        value = self.get(table, key, dict, where, required) or {}
        here = f"{where}.{key}".lstrip(".")
        return MappingProxyType({k: self.text(value, k, here) for k in value})

    def unknown_keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            raise self.fail(where or "file", f"unknown keys {', '.join(extra)}")


def _answer(r: _Reader, raw: Any, index: int) -> AnswerSpec:
    where = f"answers[{index}]"
    if not isinstance(raw, dict):
        raise r.fail(where, "expected a table")
    r.unknown_keys(
        raw,
        {
            "name",
            "kind",
            "required",
            "label",
            "values",
            "value_labels",
            "keys",
            "key_labels",
            "minimum",
        },
        where,
    )
    name = r.get(raw, "name", str, where)
    if not _KEY.match(name):
        raise r.fail(f"{where}.name", "use letters, digits and _ only")
    kind = r.get(raw, "kind", str, where)
    if kind not in ANSWER_KINDS:
        raise r.fail(
            f"{where}.kind", f"unknown answer kind {kind!r}; one of " + ", ".join(ANSWER_KINDS)
        )
    values = tuple(
        r.get(raw, "values", list, where, required=kind in ("choice", "choice_list", "levels"))
        or ()
    )
    if len(set(values)) != len(values) or not all(isinstance(v, str) for v in values):
        raise r.fail(f"{where}.values", "values must be distinct strings")
    keys = tuple(r.get(raw, "keys", list, where, required=kind == "levels") or ())
    value_labels = r.texts(raw, "value_labels", where, required=bool(values))
    if set(value_labels) != set(values):
        raise r.fail(f"{where}.value_labels", "needs exactly one label per value")
    key_labels = r.texts(raw, "key_labels", where, required=bool(keys))
    if set(key_labels) != set(keys):
        raise r.fail(f"{where}.key_labels", "needs exactly one label per key")
    minimum = r.get(raw, "minimum", int, where, required=False)
    return AnswerSpec(
        name=name,
        kind=kind,
        required=bool(r.get(raw, "required", bool, where)),
        label=r.text(raw, "label", where),
        values=values,
        value_labels=value_labels,
        keys=keys,
        key_labels=key_labels,
        minimum=minimum,
    )


def _segment(
    r: _Reader, raw: Any, index: int, aspects: Mapping[str, Text], groups: Mapping[str, Text]
) -> Segment:
    where = f"segments[{index}]"
    if not isinstance(raw, dict):
        raise r.fail(where, "expected a table")
    r.unknown_keys(
        raw,
        {
            "code",
            "key",
            "register_code",
            "group",
            "name",
            "description",
            "implications",
            "reassess_after_days",
            "when",
            "typical_duration",
            "promise",
        },
        where,
    )
    key = r.get(raw, "key", str, where)
    if not _KEY.match(key):
        raise r.fail(f"{where}.key", "use letters, digits and _ only")
    group = r.get(raw, "group", str, where)
    if group not in groups:
        raise r.fail(f"{where}.group", f"{group!r} is not a key of [groups]")
    implications = r.texts(raw, "implications", where)
    if set(implications) != set(aspects):
        missing = sorted(set(aspects) - set(implications))
        extra = sorted(set(implications) - set(aspects))
        raise r.fail(
            f"{where}.implications",
            f"must cover exactly the [aspects]; missing {missing}, unknown {extra}",
        )
    days = r.get(raw, "reassess_after_days", int, where)
    if days < 1:
        raise r.fail(f"{where}.reassess_after_days", "must be at least 1")
    return Segment(
        code=r.get(raw, "code", int, where),
        key=key,
        register_code=r.get(raw, "register_code", int, where, required=False),
        group=group,
        name=r.text(raw, "name", where),
        description=r.text(raw, "description", where),
        implications=implications,
        reassess_after_days=days,
        when=MappingProxyType(dict(r.get(raw, "when", dict, where, required=False) or {})),
        typical_duration=r.get(raw, "typical_duration", str, where, required=False),
        promise=r.optional_text(raw, "promise", where),
    )


def _check_rule(r: _Reader, model: ModelVersion) -> None:
    codes = [s.code for s in model.segments]
    keys = [s.key for s in model.segments]
    if len(set(codes)) != len(codes):
        raise r.fail("segments", "duplicate segment code")
    if len(set(keys)) != len(keys):
        raise r.fail("segments", "duplicate segment key")
    registered = [s.register_code for s in model.segments]
    if model.register and None in registered:
        raise r.fail("segments", "a model with a register gives every segment a register_code")
    if not model.register and any(c is not None for c in registered):
        raise r.fail("segments", "register_code needs a `register` for the model")
    if model.rule == "grid":
        _check_grid(r, model)
    else:
        _check_service_use(r, model)


def _check_grid(r: _Reader, model: ModelVersion) -> None:
    """Every combination of the grid's answers must place the client in exactly one segment."""
    grid_answers = sorted({name for s in model.segments for name in s.when})
    if not grid_answers:
        raise r.fail("segments", "a grid model needs `when` on its segments")
    cells: dict[tuple[str, ...], str] = {}
    for index, segment in enumerate(model.segments):
        if sorted(segment.when) != grid_answers:
            raise r.fail(f"segments[{index}].when", f"must name exactly {grid_answers}")
        for name, value in segment.when.items():
            spec = model.answer(name)
            if spec is None or spec.kind != "choice" or not spec.required:
                raise r.fail(f"segments[{index}].when.{name}", "not a required choice answer")
            if value not in spec.values:
                raise r.fail(f"segments[{index}].when.{name}", f"{value!r} is not a value")
        cell = tuple(segment.when[name] for name in grid_answers)
        if cell in cells:
            raise r.fail(f"segments[{index}].when", f"same cell as segment {cells[cell]}")
        cells[cell] = segment.key
    size = 1
    for name in grid_answers:
        size *= len(model.answer(name).values)  # type: ignore[union-attr]
    if len(cells) != size:
        raise r.fail("segments", "the `when` tables leave some answer combination unplaced")
    duration = model.answer("duration")
    for index, segment in enumerate(model.segments):
        if segment.typical_duration is not None and (
            duration is None or segment.typical_duration not in duration.values
        ):
            raise r.fail(f"segments[{index}].typical_duration", "not a value of `duration`")


def _check_service_use(r: _Reader, model: ModelVersion) -> None:
    missing = [p for p in SERVICE_USE_PARAMETERS if p not in model.parameters]
    if missing:
        raise r.fail("parameters", f"missing {', '.join(missing)}")
    if sorted(s.code for s in model.segments) != [1, 2, 3]:
        raise r.fail("segments", "the service_use rule needs segments with codes 1, 2 and 3")
    for name, kind in (
        ("planned_contacts", "integer"),
        ("unplanned_contacts", "integer"),
        ("unplanned_contacts_previous", "integer"),
        ("regular_services", "boolean"),
        ("risk_factors", "choice_list"),
    ):
        spec = model.answer(name)
        if spec is None or spec.kind != kind:
            raise r.fail("answers", f"the service_use rule needs a {kind} answer `{name}`")


def load_model_file(path: Path) -> ModelVersion:
    r = _Reader(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise r.fail("file", f"not valid TOML ({exc})") from exc
    r.unknown_keys(
        raw,
        {
            "id",
            "version",
            "valid_from",
            "rule",
            "register",
            "name",
            "source",
            "answers",
            "aspects",
            "groups",
            "segments",
            "parameters",
        },
        "",
    )
    model_id = r.get(raw, "id", str, "")
    if not _ID.match(model_id):
        raise r.fail("id", "use lower-case letters, digits and - only")
    version = r.get(raw, "version", str, "")
    if not _VERSION.match(version):
        raise r.fail("version", "use letters, digits, '.', '_' and '-' only")
    rule = r.get(raw, "rule", str, "")
    if rule not in RULES:
        raise r.fail("rule", f"unknown rule {rule!r}; one of {', '.join(RULES)}")
    register = r.get(raw, "register", str, "", required=False)
    if register not in (None, "health"):
        raise r.fail("register", "the only register is `health`")
    answers = tuple(_answer(r, a, i) for i, a in enumerate(r.get(raw, "answers", list, "")))
    names = [a.name for a in answers]
    if len(set(names)) != len(names):
        raise r.fail("answers", "duplicate answer name")
    aspects = r.texts(raw, "aspects", "")
    groups = r.texts(raw, "groups", "")
    raw_segments = r.get(raw, "segments", list, "")
    if not raw_segments:
        raise r.fail("segments", "a model needs segments")
    segments = tuple(_segment(r, s, i, aspects, groups) for i, s in enumerate(raw_segments))
    parameters = r.get(raw, "parameters", dict, "", required=False) or {}
    for key, value in parameters.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise r.fail(f"parameters.{key}", "expected an integer ≥ 0")
    model = ModelVersion(
        id=model_id,
        version=version,
        valid_from=r.get(raw, "valid_from", date, ""),
        rule=rule,
        register=register,
        name=r.text(raw, "name", ""),
        source=r.text(raw, "source", ""),
        answers=answers,
        aspects=aspects,
        groups=groups,
        segments=segments,
        parameters=MappingProxyType(dict(parameters)),
        path=str(path),
    )
    _check_rule(r, model)
    return model
