"""A suggestion is worked out once per model version and distinct answers, and is the same as
working it out again."""

from dataclasses import replace

import pytest

from app.segmentation import rules
from app.segmentation.catalog import ModelVersion
from app.segmentation.registry import load_registry
from app.segmentation.rules import classify


@pytest.fixture
def helsinki() -> ModelVersion:
    model = load_registry().latest("helsinki-2023")
    assert model is not None
    return model


def test_the_same_answers_give_the_suggestion_worked_out_before(helsinki: ModelVersion) -> None:
    answers = {"coping": "difficult", "risk_level": "many", "duration": "continuous"}
    first = classify(helsinki, answers)
    again = classify(helsinki, dict(reversed(list(answers.items()))))
    assert again is first
    helsinki.classified.clear()
    assert classify(helsinki, answers) == first


def test_other_answers_are_worked_out_for_themselves(helsinki: ModelVersion) -> None:
    easy = classify(helsinki, {"coping": "easy", "risk_level": "few"})
    hard = classify(helsinki, {"coping": "difficult", "risk_level": "many"})
    assert (easy.segment.code, hard.segment.code) == (1, 4)


def test_values_json_tells_apart_are_different_keys() -> None:
    keys = {rules._frozen({"a": value}) for value in (True, 1, 1.0, "1", [1], {"1": 1})}
    assert len(keys) == 6


def test_a_version_derived_with_replace_keeps_no_suggestion_of_the_other(
    helsinki: ModelVersion,
) -> None:
    classify(helsinki, {"coping": "easy", "risk_level": "few"})
    renamed = replace(helsinki, name=helsinki.name)
    assert helsinki.classified and not renamed.classified


def test_the_kept_suggestions_are_bounded(
    helsinki: ModelVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "CLASSIFIED_PER_MODEL", 3)
    for duration in ("occasional", "temporary", "continuous"):
        for coping in ("easy", "difficult"):
            classify(helsinki, {"coping": coping, "risk_level": "few", "duration": duration})
            assert len(helsinki.classified) <= 3
