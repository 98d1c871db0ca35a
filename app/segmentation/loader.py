"""Model files → model versions, validated completely or not at all.

A county's model is read from TOML (docs/model-files.md). Loading checks everything a
classification or a catalog response will rely on, so a malformed file stops the service at
start with the file and the problem named, instead of failing one request later.
"""

import re
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.segmentation.catalog import (
    ANSWER_KINDS,
    BASES,
    COORDINATION,
    NEEDS,
    RULES,
    AnswerSpec,
    Consistency,
    ModelVersion,
    Segment,
    Text,
)
from app.segmentation.checks import check_rule
from app.segmentation.toml_reader import Reader

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_KEY = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_VERSION = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


def _answer(r: Reader, raw: Any, index: int) -> AnswerSpec:
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
    r: Reader, raw: Any, index: int, aspects: Mapping[str, Text], groups: Mapping[str, Text]
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
            "coordination",
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
    coordination_raw = r.get(raw, "coordination", dict, where)
    r.unknown_keys(coordination_raw, set(COORDINATION), f"{where}.coordination")
    coordination = MappingProxyType(
        {
            need: r.choice(coordination_raw, need, NEEDS, f"{where}.coordination")
            for need in COORDINATION
        }
    )
    return Segment(
        code=r.get(raw, "code", int, where),
        key=key,
        register_code=r.get(raw, "register_code", int, where, required=False),
        group=group,
        name=r.text(raw, "name", where),
        description=r.text(raw, "description", where),
        implications=implications,
        coordination=coordination,
        when=MappingProxyType(dict(r.get(raw, "when", dict, where, required=False) or {})),
        typical_duration=r.get(raw, "typical_duration", str, where, required=False),
        promise=r.optional_text(raw, "promise", where),
    )


def _consistency(r: Reader, raw: Any, index: int, answers: tuple[AnswerSpec, ...]) -> Consistency:
    where = f"consistency[{index}]"
    if not isinstance(raw, dict):
        raise r.fail(where, "expected a table")
    r.unknown_keys(raw, {"when", "message"}, where)
    when = r.get(raw, "when", dict, where)
    specs = {a.name: a for a in answers}
    for name, value in when.items():
        spec = specs.get(name)
        if spec is None or spec.kind != "choice":
            raise r.fail(f"{where}.when.{name}", "not a choice answer of the model")
        if value not in spec.values:
            raise r.fail(f"{where}.when.{name}", f"{value!r} is not a value")
    if not when:
        raise r.fail(f"{where}.when", "needs at least one answer")
    return Consistency(MappingProxyType(dict(when)), r.text(raw, "message", where))


def load_model_file(path: Path) -> ModelVersion:
    r = Reader(path)
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
            "parameters_basis",
            "parameters_note",
            "valid_until",
            "withdrawn_on",
            "consistency",
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
    numbers = [s.register_code for s in segments if s.register_code is not None]
    if len(set(numbers)) != len(numbers):
        raise r.fail("segments", "two segments cannot share a register_code")
    parameters = r.get(raw, "parameters", dict, "", required=False) or {}
    for key, value in parameters.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise r.fail(f"parameters.{key}", "expected an integer ≥ 0")
    valid_from: date = r.get(raw, "valid_from", date, "")
    valid_until: date | None = r.get(raw, "valid_until", date, "", required=False)
    if valid_until is not None and valid_until < valid_from:
        raise r.fail("valid_until", "must not be before valid_from")
    withdrawn_on: date | None = r.get(raw, "withdrawn_on", date, "", required=False)
    if withdrawn_on is not None and withdrawn_on < valid_from:
        raise r.fail("withdrawn_on", "must not be before valid_from")
    basis = r.choice(raw, "parameters_basis", BASES, "") if "parameters_basis" in raw else None
    note = r.optional_text(raw, "parameters_note", "")
    if basis == "local_policy" and note is None:
        raise r.fail("parameters_note", "local policy needs a note saying so")
    model = ModelVersion(
        id=model_id,
        version=version,
        valid_from=valid_from,
        valid_until=valid_until,
        withdrawn_on=withdrawn_on,
        parameters_basis=basis,
        parameters_note=note,
        consistency=tuple(
            _consistency(r, c, i, answers)
            for i, c in enumerate(r.get(raw, "consistency", list, "", required=False) or [])
        ),
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
    check_rule(r, model)
    return model
