"""The Helsinki 2023 quadrant rule as pure functions: seed 002's clients and every cell."""

from typing import Any

import pytest

from app.segmentation.catalog import ModelVersion
from app.segmentation.registry import load_registry
from app.segmentation.rules import classify, validate_answers


@pytest.fixture(scope="module")
def helsinki() -> ModelVersion:
    model = load_registry().latest("helsinki-2023")
    assert model is not None
    return model


# Seed 002's worked examples, reduced to the professional's answers.
WORKED_EXAMPLES = [
    # Risto, 35: healthy office worker with toothache, handles it by chat.
    ("Risto", {"coping": "easy", "risk_level": "few", "duration": "occasional"}, 1),
    # Taina, 32: postpartum depression, separation, money worries; not coping for now.
    ("Taina", {"coping": "difficult", "risk_level": "few", "duration": "temporary"}, 2),
    # Kaija, 70: early memory disorder and type 2 diabetes; copes with her family's help.
    ("Kaija", {"coping": "easy", "risk_level": "many", "duration": "continuous"}, 3),
    # Lauri, 25: psychosis, substance abuse, recently homeless; a multi-professional team.
    ("Lauri", {"coping": "difficult", "risk_level": "many", "duration": "continuous"}, 4),
]


@pytest.mark.parametrize(
    ("who", "answers", "code"), WORKED_EXAMPLES, ids=[w[0] for w in WORKED_EXAMPLES]
)
def test_seed_002_worked_examples(
    helsinki: ModelVersion, who: str, answers: dict[str, Any], code: int
) -> None:
    assert validate_answers(helsinki, answers) == []
    result = classify(helsinki, answers)
    assert result.segment.code == code
    assert result.segment.register_code == code
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("coping", "risk_level", "key", "group"),
    [
        ("easy", "few", "self_care", "SPT"),
        ("difficult", "few", "support", "SPT"),
        ("easy", "many", "collaboration", "PPT"),
        ("difficult", "many", "care", "PPT"),
    ],
)
def test_each_quadrant_has_its_segment_and_group(
    helsinki: ModelVersion, coping: str, risk_level: str, key: str, group: str
) -> None:
    result = classify(helsinki, {"coping": coping, "risk_level": risk_level})
    assert (result.segment.key, result.segment.group) == (key, group)


def test_explanation_has_one_step_per_deciding_answer_and_a_conclusion(
    helsinki: ModelVersion,
) -> None:
    result = classify(helsinki, {"coping": "difficult", "risk_level": "many"})
    english = [step["en"] for step in result.explanation]
    assert len(english) == 3
    assert "difficult" in english[0].lower()
    assert "many" in english[1].lower()
    assert "segment 4" in english[2]
    assert all(step["fi"] and step["sv"] for step in result.explanation)


def test_an_atypical_duration_is_a_warning_that_does_not_change_the_segment(
    helsinki: ModelVersion,
) -> None:
    result = classify(helsinki, {"coping": "easy", "risk_level": "few", "duration": "continuous"})
    assert result.segment.code == 1
    assert len(result.warnings) == 1
    assert "not typical" in result.warnings[0]["en"]


def test_a_typical_duration_adds_a_step(helsinki: ModelVersion) -> None:
    result = classify(helsinki, {"coping": "easy", "risk_level": "many", "duration": "continuous"})
    assert any("typical of this segment" in step["en"] for step in result.explanation)


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"risk_level": "few"}, "answers.coping", "required"),
        (
            {"coping": "sometimes", "risk_level": "few"},
            "answers.coping",
            "expected one of easy, difficult",
        ),
        (
            {"coping": "easy", "risk_level": "few", "mood": "ok"},
            "answers.mood",
            "not an answer of helsinki-2023",
        ),
        ({"coping": "easy", "risk_level": 3}, "answers.risk_level", "expected one of few, many"),
        (
            {"coping": "easy", "risk_level": "few", "duration": "forever"},
            "answers.duration",
            "expected one of occasional, temporary, continuous",
        ),
    ],
)
def test_bad_answers_name_the_field(
    helsinki: ModelVersion, answers: dict[str, Any], field: str, message: str
) -> None:
    errors = validate_answers(helsinki, answers)
    assert [".".join(("answers", *e.path)) for e in errors] == [field]
    assert message in errors[0].message
