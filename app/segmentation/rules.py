"""The segmentation rules: pure functions from a model version and answers to a suggestion.

No database, no HTTP, no clock. The explanation is built here, in every language at once, so
that an assessment can store exactly what the professional was shown; a later model version
or a reworded catalog never changes a stored explanation.
"""

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.segmentation.catalog import LANGUAGES, AnswerSpec, ModelVersion, Segment, Text

LEVEL_NONE = "none"
LEVEL_SEVERE = "severe"


@dataclass(frozen=True)
class AnswerProblem:
    """What is wrong with one answer, at `path` inside `answers` (keys as the caller sent
    them: the caller decides how to show a key it did not expect)."""

    path: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Classification:
    segment: Segment
    explanation: tuple[Text, ...]
    warnings: tuple[Text, ...]
    attention: bool | None = None


@cache
def _messages() -> Mapping[str, Text]:
    with (Path(__file__).parent / "messages.toml").open("rb") as handle:
        return MappingProxyType(tomllib.load(handle))


def _say(message: str, **values: Any) -> Text:
    """One sentence in every language; values may themselves be per-language texts."""
    template = _messages()[message]
    return MappingProxyType(
        {
            lang: template[lang].format(
                **{k: (v[lang] if isinstance(v, Mapping) else v) for k, v in values.items()}
            )
            for lang in LANGUAGES
        }
    )


def _join(texts: Sequence[Text]) -> Text:
    return MappingProxyType({lang: ", ".join(t[lang] for t in texts) for lang in LANGUAGES})


def _lower(text: Text) -> Text:
    return MappingProxyType({lang: text[lang][:1].lower() + text[lang][1:] for lang in LANGUAGES})


def register_status(model: ModelVersion, segment: Segment, consent: bool | None) -> Text:
    """Whether the segment may go to the health register, and why, in every language."""
    if model.register is None or segment.register_code is None:
        return _say("register_none")
    if consent is True:
        return _say("register_consent_given", code=segment.register_code)
    return _say("register_consent_withdrawn" if consent is False else "register_consent_missing")


# --- answers ---------------------------------------------------------------------------------


def _check_answer(spec: AnswerSpec, value: Any) -> str | None:
    """The problem with one answer value, or None; never quotes the value back."""
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.values:
            return "expected one of " + ", ".join(spec.values)
    elif spec.kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return "expected an integer"
        if spec.minimum is not None and value < spec.minimum:
            return f"expected an integer ≥ {spec.minimum}"
    elif spec.kind == "boolean":
        if not isinstance(value, bool):
            return "expected true or false"
    elif spec.kind == "choice_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "expected a list of " + ", ".join(spec.values)
        if any(v not in spec.values for v in value):
            return "expected items from " + ", ".join(spec.values)
        if len(set(value)) != len(value):
            return "expected each item at most once"
    elif spec.kind == "levels" and not isinstance(value, dict):
        return "expected an object with keys " + ", ".join(spec.keys)
    return None


def validate_answers(model: ModelVersion, answers: Mapping[str, Any]) -> list[AnswerProblem]:
    errors: list[AnswerProblem] = []
    for name in answers:
        if model.answer(name) is None:
            errors.append(
                AnswerProblem(
                    (name,), f"not an answer of {model.id}; put other information in `details`"
                )
            )
    for spec in model.answers:
        if spec.name not in answers or answers[spec.name] is None:
            if spec.required:
                errors.append(AnswerProblem((spec.name,), "required"))
            continue
        value = answers[spec.name]
        problem = _check_answer(spec, value)
        if problem:
            errors.append(AnswerProblem((spec.name,), problem))
        elif spec.kind == "levels":
            for key, level in value.items():
                if key not in spec.keys:
                    message = "expected one of the keys " + ", ".join(spec.keys)
                    errors.append(AnswerProblem((spec.name, key), message))
                elif level not in spec.values:
                    message = "expected one of " + ", ".join(spec.values)
                    errors.append(AnswerProblem((spec.name, key), message))
    return errors


# --- the grid rule (Helsinki, Vantaa-Kerava) -------------------------------------------------


def _answer_step(spec: AnswerSpec, value: str) -> Text:
    return _say("answer", label=spec.label, value=_lower(spec.value_labels[value]))


def _consistency_warnings(
    model: ModelVersion, answers: Mapping[str, Any], levels: AnswerSpec, given: Mapping[str, str]
) -> list[Text]:
    """Flag answers that look inconsistent with functional capacity; never change the segment."""
    severe = [levels.key_labels[k] for k in levels.keys if given.get(k) == LEVEL_SEVERE]
    limited = [k for k in levels.keys if given.get(k, LEVEL_NONE) != LEVEL_NONE]
    warnings = []
    if answers.get("coping") == "easy" and severe:
        warnings.append(_say("warn_easy_but_severe", items=_join([_lower(t) for t in severe])))
    if (
        answers.get("coping") == "difficult"
        and len(given) == len(levels.keys)
        and not limited
        and answers.get("resources") == "good"
    ):
        warnings.append(_say("warn_difficult_but_unlimited"))
    if answers.get("service_need") == "low" and len(severe) >= 2:
        warnings.append(_say("warn_low_need_but_severe", items=_join([_lower(t) for t in severe])))
    return warnings


def _classify_grid(model: ModelVersion, answers: Mapping[str, Any]) -> Classification:
    segment = next(s for s in model.segments if all(answers.get(k) == v for k, v in s.when.items()))
    steps = [
        _answer_step(model.answer(name), answers[name])  # type: ignore[arg-type]
        for name in (a.name for a in model.answers)
        if name in segment.when
    ]
    steps.append(
        _say(
            "grid_conclusion",
            code=segment.code,
            name=segment.name,
            group=_lower(model.groups[segment.group]),
        )
    )
    warnings: list[Text] = []
    duration = model.answer("duration")
    if duration and answers.get("duration") and segment.typical_duration:
        value = answers["duration"]
        label, value_label = duration.label, _lower(duration.value_labels[value])
        if value == segment.typical_duration:
            steps.append(_say("duration_typical", label=label, value=value_label))
        else:
            warnings.append(
                _say(
                    "duration_atypical",
                    label=label,
                    value=value_label,
                    name=_lower(segment.name),
                    typical=_lower(duration.value_labels[segment.typical_duration]),
                )
            )
    for spec in model.answers:
        if spec.kind == "levels" and isinstance(answers.get(spec.name), dict):
            given = answers[spec.name]
            items = [
                _say("answer", label=spec.key_labels[k], value=_lower(spec.value_labels[given[k]]))
                for k in spec.keys
                if given.get(k, LEVEL_NONE) != LEVEL_NONE
            ]
            if items:
                joined = MappingProxyType(
                    {lang: ", ".join(t[lang].rstrip(".") for t in items) for lang in LANGUAGES}
                )
                steps.append(_say("levels_challenges", label=spec.label, items=joined))
            else:
                steps.append(_say("levels_none", label=spec.label))
            warnings.extend(_consistency_warnings(model, answers, spec, given))
        elif (
            spec.kind == "choice"
            and spec.name not in segment.when
            and spec.name != "duration"
            and answers.get(spec.name)
        ):
            steps.append(_answer_step(spec, answers[spec.name]))
    return Classification(segment, tuple(steps), tuple(warnings))


# --- the service-use rule (Kymenlaakso) ------------------------------------------------------


def _classify_service_use(model: ModelVersion, answers: Mapping[str, Any]) -> Classification:
    p = model.parameters
    unplanned, previous = answers["unplanned_contacts"], answers["unplanned_contacts_previous"]
    planned, regular = answers["planned_contacts"], answers["regular_services"]
    steps = [_say("service_use_counts", unplanned=unplanned, previous=previous, planned=planned)]
    if model.parameters_basis == "local_policy" and model.parameters_note is not None:
        steps.append(_say("parameters_local_policy", note=model.parameters_note))
    if unplanned >= p["unplanned_heavy"]:
        code = 3
        steps.append(_say("service_use_heavy", threshold=p["unplanned_heavy"]))
    elif unplanned >= p["unplanned_rising_minimum"] and unplanned > previous:
        code = 3
        steps.append(_say("service_use_rising", threshold=p["unplanned_rising_minimum"]))
    else:
        steps.append(_say("service_use_not_unplanned", heavy=p["unplanned_heavy"]))
        if regular:
            code = 2
            steps.append(_say("service_use_regular_services"))
        elif planned >= p["planned_regular"]:
            code = 2
            steps.append(_say("service_use_planned_regular", threshold=p["planned_regular"]))
        else:
            code = 1
            steps.append(_say("service_use_low", threshold=p["planned_regular"]))
    segment = model.segment_by_code(code)
    assert segment is not None  # the loader guarantees codes 1, 2, 3
    steps.append(
        _say(
            "service_use_conclusion",
            key=segment.key,
            name=segment.name,
            group=_lower(model.groups[segment.group]),
        )
    )
    factors = answers.get("risk_factors") or []
    spec = model.answer("risk_factors")
    attention = len(factors) >= p["attention_risk_factors"]
    if factors and spec is not None:
        labels = _join([_lower(spec.value_labels[f]) for f in factors])
        steps.append(_say("risk_factors", count=len(factors), items=labels))
        steps.append(_say("risk_factors_within"))
    if attention:
        steps.append(_say("risk_factors_attention", threshold=p["attention_risk_factors"]))
    return Classification(segment, tuple(steps), (), attention)


_RULES: Mapping[str, Callable[[ModelVersion, Mapping[str, Any]], Classification]] = {
    "grid": _classify_grid,
    "service_use": _classify_service_use,
}


# How many suggestions a model version keeps worked out: a model has few distinct answer
# sets in use (Helsinki's grid: 4 cells × the optional answers), and the cache is emptied
# when it fills, so a caller sending ever-new answers costs memory no bigger than this.
CLASSIFIED_PER_MODEL = 4096


def classify(model: ModelVersion, answers: Mapping[str, Any]) -> Classification:
    """Suggest a segment for answers already checked with `validate_answers`.

    A pure function of the two, so worked out once per distinct answers (building the
    explanation in every language was a fortieth of a submission's CPU); the result is
    immutable and shared."""
    key = _frozen(answers)
    known = model.classified.get(key)
    if isinstance(known, Classification):
        return known
    result = _RULES[model.rule](model, answers)
    unusual = tuple(
        c.message
        for c in model.consistency
        if all(answers.get(name) == value for name, value in c.when.items())
    )
    if unusual:
        result = replace(result, warnings=result.warnings + unusual)
    if len(model.classified) >= CLASSIFIED_PER_MODEL:
        model.classified.clear()
    model.classified[key] = result
    return result


def _frozen(value: Any) -> Any:
    """`value` as a hashable key that tells apart what JSON tells apart: `true`, `1` and
    `1.0` are equal in Python but three different answers."""
    if isinstance(value, Mapping):
        return (dict, tuple(sorted((str(k), _frozen(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (list, tuple(_frozen(v) for v in value))
    return (type(value), value)
