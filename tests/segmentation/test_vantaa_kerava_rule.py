"""The Vantaa-Kerava 2021 model: the grid, the domains named, and inconsistencies flagged."""

from typing import Any

import pytest

from app.segmentation.catalog import ModelVersion
from app.segmentation.registry import load_registry
from app.segmentation.rules import classify, validate_answers


@pytest.fixture(scope="module")
def vantaa() -> ModelVersion:
    model = load_registry().latest("vantaa-kerava-2021")
    assert model is not None
    return model


def capacity(**levels: str) -> dict[str, str]:
    return {
        "physical": "none",
        "psychological": "none",
        "social": "none",
        "cognitive": "none",
        **levels,
    }


@pytest.mark.parametrize(
    ("coping", "need", "code"),
    [("easy", "low", 1), ("difficult", "low", 2), ("easy", "high", 3), ("difficult", "high", 4)],
)
def test_the_grid(vantaa: ModelVersion, coping: str, need: str, code: int) -> None:
    result = classify(vantaa, {"coping": coping, "service_need": need})
    assert result.segment.code == code
    assert result.segment.register_code is None  # the numbering is a tenant's (tenants.toml)


# Example clients written from seed 001's descriptions.
def test_a_stable_client_with_mildly_reduced_capacity_is_support(vantaa: ModelVersion) -> None:
    answers = {
        "coping": "difficult",
        "service_need": "low",
        "resources": "good",
        "functional_capacity": capacity(physical="mild"),
    }
    result = classify(vantaa, answers)
    assert result.segment.key == "support"
    assert result.warnings == ()
    domains = " ".join(step["en"] for step in result.explanation).lower()
    assert "physical" in domains and "social" not in domains


def test_challenges_in_several_domains_but_coping_well_is_collaboration(
    vantaa: ModelVersion,
) -> None:
    answers = {
        "coping": "easy",
        "service_need": "high",
        "functional_capacity": capacity(cognitive="moderate", physical="moderate"),
    }
    result = classify(vantaa, answers)
    assert result.segment.key == "collaboration"
    text = " ".join(step["en"] for step in result.explanation).lower()
    assert "cognitive" in text and "physical" in text


@pytest.mark.parametrize(
    ("answers", "code", "needle"),
    [
        (
            {
                "coping": "easy",
                "service_need": "high",
                "functional_capacity": capacity(psychological="severe"),
            },
            3,
            "severely limited",
        ),
        (
            {
                "coping": "difficult",
                "service_need": "low",
                "resources": "good",
                "functional_capacity": capacity(),
            },
            2,
            "no domain",
        ),
        (
            {
                "coping": "difficult",
                "service_need": "low",
                "functional_capacity": capacity(physical="severe", cognitive="severe"),
            },
            2,
            "several domains",
        ),
    ],
    ids=[
        "easy coping, severe limitation",
        "difficult coping, nothing limited",
        "low need, severe limitations",
    ],
)
def test_inconsistent_answers_are_flagged_but_never_overruled(
    vantaa: ModelVersion, answers: dict[str, Any], code: int, needle: str
) -> None:
    result = classify(vantaa, answers)
    assert result.segment.code == code
    assert any(needle in warning["en"] for warning in result.warnings)


def test_unknown_domain_and_level_are_named(vantaa: ModelVersion) -> None:
    answers = {
        "coping": "easy",
        "service_need": "low",
        "functional_capacity": {"spiritual": "mild", "physical": "extreme"},
    }
    fields = sorted(".".join(("answers", *e.path)) for e in validate_answers(vantaa, answers))
    assert fields == [
        "answers.functional_capacity.physical",
        "answers.functional_capacity.spiritual",
    ]
