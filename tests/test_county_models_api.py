"""Vantaa-Kerava and Kymenlaakso through every endpoint, as Helsinki's model goes."""

from fastapi.testclient import TestClient

from tests.conftest import Auth

EN = {"Accept-Language": "en"}


def test_a_vantaa_kerava_client_through_assessment_segment_and_history(
    client: TestClient, auth: Auth
) -> None:
    headers = auth(org="vantaa-kerava", **EN)
    body = {
        "client": {"hetu": "131052-308T"},
        "answers": {
            "coping": "easy",
            "service_need": "high",
            "resources": "good",
            "functional_capacity": {
                "physical": "moderate",
                "psychological": "none",
                "social": "mild",
                "cognitive": "severe",
            },
        },
        "consent": {"health_register": True},
        "effective_at": "2026-09-01T09:00:00+03:00",
    }
    created = client.post("/v1/assessments", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assessment = created.json()
    assert assessment["model"] == "vantaa-kerava-2021"
    assert assessment["segment"]["key"] == "collaboration"
    assert any("cognitive" in step.lower() for step in assessment["explanation"])
    assert any("severely limited" in w for w in assessment["warnings"])
    segment = client.get(f"/v1/clients/{assessment['client_id']}/segment", headers=headers).json()
    assert (segment["code"], segment["register_code"]) == (3, 3)
    assert segment["health_register"]["recordable"] is True
    assert [i["aspect"] for i in segment["implications"]] == [
        "goal",
        "plan",
        "named_contact",
        "cooperation",
        "service_modes",
    ]
    history = client.get(
        f"/v1/clients/{assessment['client_id']}/segment-history", headers=headers
    ).json()
    assert history["items"][0]["model"] == "vantaa-kerava-2021"


def test_a_kymenlaakso_client_gets_c_with_attention_and_is_never_for_the_register(
    client: TestClient, auth: Auth
) -> None:
    headers = auth(org="kymenlaakso", **EN)
    body = {
        "client": {"external_id": {"system": "urn:kymenlaakso:asiakas", "value": "K-77"}},
        "answers": {
            "planned_contacts": 2,
            "unplanned_contacts": 5,
            "unplanned_contacts_previous": 1,
            "regular_services": True,
            "risk_factors": ["loneliness", "memory_disorder"],
        },
        "consent": {"health_register": True},
    }
    created = client.post("/v1/assessments", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assessment = created.json()
    assert assessment["segment"] == {
        "code": 3,
        "key": "C",
        "name": assessment["segment"]["name"],
        "register_code": None,
    }
    assert assessment["attention"] is True
    segment = client.get(f"/v1/clients/{assessment['client_id']}/segment", headers=headers).json()
    assert segment["register_code"] is None
    assert segment["health_register"]["recordable"] is False
    assert "no register numbering" in segment["health_register"]["reason"]
    assert segment["reassess_by"] > segment["since"]


def test_a_kymenlaakso_decision_can_override_with_a_reason(client: TestClient, auth: Auth) -> None:
    body = {
        "client": {"hetu": "131052-308T"},
        "answers": {
            "planned_contacts": 0,
            "unplanned_contacts": 0,
            "unplanned_contacts_previous": 0,
            "regular_services": False,
        },
        "decided_segment": 2,
        "override_reason": "informal carer about to stop",
    }
    created = client.post("/v1/assessments", json=body, headers=auth(org="kymenlaakso"))
    assert created.status_code == 201
    assert (created.json()["suggested_segment"]["key"], created.json()["segment"]["key"]) == (
        "A",
        "B",
    )


def test_kymenlaakso_answers_are_checked(client: TestClient, auth: Auth) -> None:
    body = {
        "client": {"hetu": "131052-308T"},
        "answers": {"planned_contacts": -2, "unplanned_contacts": 1, "regular_services": "often"},
    }
    response = client.post("/v1/assessments", json=body, headers=auth(org="kymenlaakso"))
    assert response.status_code == 422
    assert sorted(e["field"] for e in response.json()["errors"]) == [
        "answers.planned_contacts",
        "answers.regular_services",
        "answers.unplanned_contacts_previous",
    ]
