"""Local policy is labelled as such: Kymenlaakso's thresholds are not from its material, and the
catalog and every explanation say so; its risk factors are looked for within a segment and
never move a client to another one."""

import tomllib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.segmentation.registry import BUILTIN_MODELS_DIR
from tests.conftest import Auth

MODEL = "kymenlaakso-2017"
with (BUILTIN_MODELS_DIR / MODEL / "2017.1.toml").open("rb") as _file:
    NOTE: dict[str, str] = tomllib.load(_file)["parameters_note"]

LOCAL_POLICY_STEP = {
    "fi": "Rajat ovat havainnollistavaa paikallista linjausta eivätkä mallin lähdeaineistosta: ",
    "sv": "Gränserna är illustrativa lokala riktlinjer och kommer inte från modellens "
    "källmaterial: ",
    "en": "The thresholds are illustrative local policy, not from the model's source material: ",
}
WITHIN_STEP = (
    "Risk factors do not change the segment: they are root causes to look for within it, "
    "and the list is not exhaustive."
)
ALL_RISK_FACTORS = [
    "insecurity",
    "loneliness",
    "no_support_network",
    "life_crisis",
    "financial_difficulty",
    "nutrition",
    "medication",
    "memory_disorder",
    "housing",
    "abuse",
]

# One client for every way the rule reaches a segment.
SERVICE_USE = {
    "low": (
        {"planned_contacts": 1, "unplanned_contacts": 0, "unplanned_contacts_previous": 0},
        "A",
    ),
    "planned": (
        {"planned_contacts": 6, "unplanned_contacts": 1, "unplanned_contacts_previous": 1},
        "B",
    ),
    "regular services": (
        {"planned_contacts": 0, "unplanned_contacts": 0, "unplanned_contacts_previous": 0},
        "B",
    ),
    "heavy": (
        {"planned_contacts": 2, "unplanned_contacts": 4, "unplanned_contacts_previous": 9},
        "C",
    ),
    "rising": (
        {"planned_contacts": 2, "unplanned_contacts": 2, "unplanned_contacts_previous": 1},
        "C",
    ),
}


def answers(case: str, **extra: Any) -> dict[str, Any]:
    counts, _ = SERVICE_USE[case]
    return {**counts, "regular_services": case == "regular services", **extra}


def classify(client: TestClient, auth: Auth, body_answers: dict[str, Any], lang: str = "en") -> Any:
    response = client.post(
        "/v1/classify",
        json={"model": MODEL, "answers": body_answers},
        headers=auth(org="kymenlaakso", **{"Accept-Language": lang}),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_catalog_labels_kymenlaaksos_thresholds_local_policy_in_every_language(
    client: TestClient, auth: Auth
) -> None:
    model = client.get(f"/v1/models/{MODEL}", headers=auth(org="kymenlaakso")).json()
    assert model["parameters_basis"] == "local_policy"
    assert model["parameters_note"] == NOTE
    assert set(NOTE) == {"fi", "sv", "en"}
    assert NOTE["en"].startswith("The Kymenlaakso material gives no thresholds")


@pytest.mark.parametrize("case", SERVICE_USE)
def test_every_explanation_under_the_model_says_its_thresholds_are_local_policy(
    client: TestClient, auth: Auth, case: str
) -> None:
    result = classify(client, auth, answers(case))
    assert result["suggested_segment"]["key"] == SERVICE_USE[case][1]
    assert LOCAL_POLICY_STEP["en"] + NOTE["en"] in result["explanation"]


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_local_policy_step_is_written_in_the_language_asked(
    client: TestClient, auth: Auth, lang: str
) -> None:
    result = classify(client, auth, answers("heavy"), lang=lang)
    assert LOCAL_POLICY_STEP[lang] + NOTE[lang] in result["explanation"]


def test_an_assessment_stores_the_local_policy_step_with_its_explanation(
    client: TestClient, auth: Auth
) -> None:
    created = client.post(
        "/v1/assessments",
        json={"client": {"hetu": "131052-308T"}, "model": MODEL, "answers": answers("low")},
        headers=auth(org="kymenlaakso", **{"Accept-Language": "en"}),
    )
    assert created.status_code == 201, created.text
    assert LOCAL_POLICY_STEP["en"] + NOTE["en"] in created.json()["explanation"]


@pytest.mark.parametrize("case", SERVICE_USE)
def test_risk_factors_are_said_not_to_change_the_segment_and_do_not(
    client: TestClient, auth: Auth, case: str
) -> None:
    without = classify(client, auth, answers(case))
    one = classify(client, auth, answers(case, risk_factors=["loneliness"]))
    every = classify(client, auth, answers(case, risk_factors=ALL_RISK_FACTORS))
    assert one["suggested_segment"] == without["suggested_segment"]
    assert every["suggested_segment"] == without["suggested_segment"]
    assert WITHIN_STEP in one["explanation"]
    assert WITHIN_STEP in every["explanation"]


def test_risk_factors_are_named_in_the_explanation_and_two_call_for_attention(
    client: TestClient, auth: Auth
) -> None:
    one = classify(client, auth, answers("low", risk_factors=["loneliness"]))
    two = classify(client, auth, answers("low", risk_factors=["loneliness", "housing"]))
    assert "Risk factors (1): loneliness." in one["explanation"]
    assert "Risk factors (2): loneliness, shortcomings in housing conditions." in two["explanation"]
    assert (one["attention"], two["attention"]) == (False, True)
    assert one["suggested_segment"]["key"] == two["suggested_segment"]["key"] == "A"
