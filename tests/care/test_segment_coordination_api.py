"""The segment in force says what coordination it requires and what the client lacks, next
to the segment, as of the moment asked about."""

from fastapi.testclient import TestClient

from tests.care.conftest import Assess, days_ago, iso
from tests.conftest import Auth


def coordination(
    client: TestClient, auth: Auth, client_id: str, org: str = "helsinki", **params: str
) -> dict[str, object]:
    response = client.get(f"/v1/clients/{client_id}/segment", params=params, headers=auth(org=org))
    assert response.status_code == 200, response.text
    shown: dict[str, object] = response.json()["coordination"]
    return shown


def join(client: TestClient, auth: Auth, client_id: str, role: str, ago: float) -> str:
    body = {"professional": f"{role}@helsinki.example", "role": role, "title": "hoitaja"}
    response = client.post(
        f"/v1/clients/{client_id}/care-team",
        json={**body, "from": iso(days_ago(ago))},
        headers=auth(),
    )
    assert response.status_code == 201, response.text
    member_id: str = response.json()["member_id"]
    return member_id


def test_a_care_client_with_nothing_lacks_a_contact_and_a_plan_and_is_advised_a_team(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    shown = coordination(client, auth, assess(1, segment=4))
    assert shown == {
        "needs": {"named_contact": "required", "team": "usually", "plan": "required"},
        "held": {"named_contact": False, "team": False, "plan": False},
        "missing": ["named_contact", "plan"],
        "advised": ["team"],
    }


def test_what_the_client_has_is_no_longer_missing(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1, segment=4, ago=20)
    join(client, auth, client_id, "named_contact", ago=10)
    join(client, auth, client_id, "team_member", ago=5)
    client.post(
        f"/v1/clients/{client_id}/plans",
        json={
            "kind": "health_and_care_plan",
            "made_at": iso(days_ago(3)),
            "review_by": "2099-01-01",
        },
        headers=auth(),
    )
    now = coordination(client, auth, client_id)
    assert (now["missing"], now["advised"]) == ([], [])
    earlier = coordination(client, auth, client_id, at=iso(days_ago(7)))
    assert earlier["held"] == {"named_contact": True, "team": False, "plan": False}
    assert (earlier["missing"], earlier["advised"]) == (["plan"], ["team"])


def test_an_ended_contact_is_missing_again(client: TestClient, auth: Auth, assess: Assess) -> None:
    client_id = assess(1, segment=3, ago=20)
    member_id = join(client, auth, client_id, "named_contact", ago=10)
    client.post(
        f"/v1/clients/{client_id}/care-team/{member_id}/end",
        json={"at": iso(days_ago(1))},
        headers=auth(),
    )
    assert "named_contact" in coordination(client, auth, client_id)["missing"]  # type: ignore[operator]


def test_a_self_care_client_lacks_nothing_the_segment_asks(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    shown = coordination(client, auth, assess(1, segment=1))
    assert (shown["missing"], shown["advised"]) == ([], [])
    assert shown["needs"] == {
        "named_contact": "not_needed",
        "team": "not_needed",
        "plan": "if_needed",
    }


def test_kymenlaaksos_c_advises_a_contact_and_a_plan_but_requires_nothing(
    client: TestClient, auth: Auth
) -> None:
    """Seed 003 names no contact, team or plan for any segment: the model file's values for C
    are our inference (`usually`), so a C client is advised them and never on the gap list."""
    headers = auth(org="kymenlaakso")
    body = {
        "client": {"external_id": {"system": "urn:kymenlaakso:asiakas", "value": "K-1"}},
        "model": "kymenlaakso-2017",
        "answers": {
            "planned_contacts": 1,
            "unplanned_contacts": 5,
            "unplanned_contacts_previous": 1,
            "regular_services": False,
        },
    }
    created = client.post("/v1/assessments", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["segment"]["key"] == "C"
    shown = coordination(client, auth, created.json()["client_id"], org="kymenlaakso")
    assert (shown["missing"], shown["advised"]) == ([], ["named_contact", "plan"])
    gaps = client.get("/v1/worklists/coordination-gaps", headers=headers).json()
    assert gaps["items"] == []
