"""Properties every model must have: any valid answers give exactly one segment and an
explanation, and the professional is never overruled by a warning."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.segmentation.catalog import AnswerSpec, ModelVersion
from app.segmentation.registry import load_registry
from app.segmentation.rules import classify, validate_answers

REGISTRY = load_registry()
MODELS = [version for model_id in REGISTRY.ids() for version in REGISTRY.get_versions(model_id)]


def _value(spec: AnswerSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "choice":
        return st.sampled_from(spec.values)
    if spec.kind == "integer":
        return st.integers(min_value=spec.minimum or 0, max_value=60)
    if spec.kind == "boolean":
        return st.booleans()
    if spec.kind == "choice_list":
        return st.lists(st.sampled_from(spec.values), unique=True)
    return st.dictionaries(st.sampled_from(spec.keys), st.sampled_from(spec.values))


def answers_for(model: ModelVersion) -> st.SearchStrategy[dict[str, Any]]:
    required = {a.name: _value(a) for a in model.answers if a.required}
    optional = {a.name: _value(a) for a in model.answers if not a.required}
    return st.fixed_dictionaries(required, optional=optional)


def expected_key(model: ModelVersion, answers: dict[str, Any]) -> str:
    """An independent statement of each rule, from API.md, to check the implementation by."""
    if model.rule == "grid":
        cell = [s for s in model.segments if all(answers[k] == v for k, v in s.when.items())]
        assert len(cell) == 1
        return cell[0].key
    p, unplanned = model.parameters, answers["unplanned_contacts"]
    if unplanned >= p["unplanned_heavy"] or (
        unplanned >= p["unplanned_rising_minimum"]
        and unplanned > answers["unplanned_contacts_previous"]
    ):
        return "C"
    if answers["regular_services"] or answers["planned_contacts"] >= p["planned_regular"]:
        return "B"
    return "A"


@pytest.mark.parametrize("model", MODELS, ids=[f"{m.id}@{m.version}" for m in MODELS])
def test_every_valid_answer_set_gives_the_rules_one_segment_and_an_explanation(
    model: ModelVersion,
) -> None:
    @settings(max_examples=300, deadline=None)
    @given(answers_for(model))
    def check(answers: dict[str, Any]) -> None:
        assert validate_answers(model, answers) == []
        result = classify(model, answers)
        assert result.segment.key == expected_key(model, answers)
        assert result.explanation
        for step in (*result.explanation, *result.warnings):
            assert all(step[lang].strip() for lang in ("fi", "sv", "en"))
        if model.rule == "service_use":
            factors = answers.get("risk_factors") or []
            assert result.attention == (len(factors) >= model.parameters["attention_risk_factors"])
        else:
            assert result.attention is None

    check()


REACHING = {
    "A": {
        "planned_contacts": 0,
        "unplanned_contacts": 0,
        "unplanned_contacts_previous": 0,
        "regular_services": False,
    },
    "B": {
        "planned_contacts": 0,
        "unplanned_contacts": 0,
        "unplanned_contacts_previous": 0,
        "regular_services": True,
    },
    "C": {
        "planned_contacts": 0,
        "unplanned_contacts": 9,
        "unplanned_contacts_previous": 0,
        "regular_services": False,
    },
}


@pytest.mark.parametrize("model", MODELS, ids=[f"{m.id}@{m.version}" for m in MODELS])
def test_every_segment_is_reachable(model: ModelVersion) -> None:
    for segment in model.segments:
        answers = dict(segment.when) if model.rule == "grid" else REACHING[segment.key]
        assert classify(model, answers).segment == segment
