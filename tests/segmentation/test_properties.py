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


@pytest.mark.parametrize("model", MODELS, ids=[f"{m.id}@{m.version}" for m in MODELS])
def test_every_valid_answer_set_gives_one_segment_and_an_explanation(model: ModelVersion) -> None:
    @settings(max_examples=200, deadline=None)
    @given(answers_for(model))
    def check(answers: dict[str, Any]) -> None:
        assert validate_answers(model, answers) == []
        result = classify(model, answers)
        assert result.segment in model.segments
        assert result.explanation
        for step in (*result.explanation, *result.warnings):
            assert all(step[lang].strip() for lang in ("fi", "sv", "en"))

    check()


@pytest.mark.parametrize("model", MODELS, ids=[f"{m.id}@{m.version}" for m in MODELS])
def test_every_segment_is_reachable(model: ModelVersion) -> None:
    if model.rule != "grid":
        pytest.skip("service-use thresholds are covered edge by edge in their own tests")
    for segment in model.segments:
        assert classify(model, dict(segment.when)).segment == segment
