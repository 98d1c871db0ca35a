"""The Kymenlaakso 2017 service-use rule: every threshold edge, parameters from the file."""

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest

from app.segmentation.catalog import ModelVersion
from app.segmentation.registry import load_registry
from app.segmentation.rules import classify, validate_answers


@pytest.fixture(scope="module")
def kymenlaakso() -> ModelVersion:
    model = load_registry().latest("kymenlaakso-2017")
    assert model is not None
    return model


def use(
    planned: int = 0, unplanned: int = 0, previous: int = 0, regular: bool = False, **extra: Any
) -> dict[str, Any]:
    return {
        "planned_contacts": planned,
        "unplanned_contacts": unplanned,
        "unplanned_contacts_previous": previous,
        "regular_services": regular,
        **extra,
    }


@pytest.mark.parametrize(
    ("answers", "key"),
    [
        (use(unplanned=4, previous=9), "C"),  # heavy: at the threshold, even if falling
        (use(unplanned=3, previous=9), "A"),  # below heavy and not rising
        (use(unplanned=2, previous=1), "C"),  # rising from the minimum
        (use(unplanned=2, previous=2), "A"),  # not more than before
        (use(unplanned=1, previous=0), "A"),  # rising but under the minimum
        (use(planned=6), "B"),  # planned at the threshold
        (use(planned=5), "A"),
        (use(regular=True), "B"),
        (use(planned=20, regular=True, unplanned=5), "C"),  # unplanned use decides first
    ],
)
def test_thresholds(kymenlaakso: ModelVersion, answers: dict[str, Any], key: str) -> None:
    assert validate_answers(kymenlaakso, answers) == []
    result = classify(kymenlaakso, answers)
    assert result.segment.key == key
    assert result.segment.register_code is None


# Example clients written from seed 003's descriptions.
def test_an_older_person_with_home_care_is_b(kymenlaakso: ModelVersion) -> None:
    # Regular home care, a few planned visits, one unplanned call a year as before.
    result = classify(kymenlaakso, use(planned=3, unplanned=1, previous=1, regular=True))
    assert result.segment.key == "B"
    assert result.attention is False


def test_a_lonely_person_with_rising_emergency_visits_is_c_with_attention(
    kymenlaakso: ModelVersion,
) -> None:
    answers = use(
        planned=1,
        unplanned=3,
        previous=1,
        risk_factors=["loneliness", "no_support_network", "medication"],
    )
    result = classify(kymenlaakso, answers)
    assert result.segment.key == "C"
    assert result.attention is True
    assert any("3" in step["en"] for step in result.explanation)


def test_one_risk_factor_is_not_yet_attention(kymenlaakso: ModelVersion) -> None:
    result = classify(kymenlaakso, use(risk_factors=["housing"]))
    assert (result.segment.key, result.attention) == ("A", False)


def test_thresholds_are_parameters_a_county_can_change(kymenlaakso: ModelVersion) -> None:
    stricter = replace(
        kymenlaakso,
        parameters=MappingProxyType(
            {**kymenlaakso.parameters, "unplanned_heavy": 10, "planned_regular": 2}
        ),
    )
    assert classify(stricter, use(unplanned=4, previous=9)).segment.key == "A"
    assert classify(stricter, use(planned=2)).segment.key == "B"


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        (use(planned=-1), "answers.planned_contacts"),
        (use(unplanned=True), "answers.unplanned_contacts"),
        (use(regular="yes"), "answers.regular_services"),
        (use(risk_factors=["gambling"]), "answers.risk_factors"),
        (use(risk_factors=["housing", "housing"]), "answers.risk_factors"),
    ],
)
def test_bad_service_use_answers(
    kymenlaakso: ModelVersion, answers: dict[str, Any], field: str
) -> None:
    assert [".".join(("answers", *e.path)) for e in validate_answers(kymenlaakso, answers)] == [
        field
    ]
