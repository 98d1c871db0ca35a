"""Plans: that a plan of a kind seed 002 names exists and when it is reviewed; the review of
the client's open plans brings the re-assessment date forward."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.care.conftest import Assess, days_ago, iso
from tests.conftest import Auth, TestDatabase

FINLAND = ZoneInfo("Europe/Helsinki")


def plan(
    client: TestClient, auth: Auth, client_id: str, review_by: date, **fields: object
) -> dict[str, object]:
    body = {"kind": "client_plan", "made_at": iso(days_ago(2)), "review_by": str(review_by)}
    response = client.post(
        f"/v1/clients/{client_id}/plans", json={**body, **fields}, headers=auth()
    )
    assert response.status_code == 201, response.text
    made: dict[str, object] = response.json()
    return made


def segment(client: TestClient, auth: Auth, client_id: str, **params: str) -> dict[str, object]:
    response = client.get(f"/v1/clients/{client_id}/segment", params=params, headers=auth())
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def start_of(day: date) -> str:
    moment = datetime(day.year, day.month, day.day, tzinfo=FINLAND).astimezone(ZoneInfo("UTC"))
    return moment.isoformat().replace("+00:00", "Z")


def test_a_newer_plan_of_the_same_kind_replaces_the_older(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(1)
    today = date.today()
    plan(client, auth, client_id, today + timedelta(days=30), made_at=iso(days_ago(20)))
    plan(client, auth, client_id, today + timedelta(days=60), kind="rehabilitation_plan")
    plan(client, auth, client_id, today + timedelta(days=90), made_at=iso(days_ago(1)))
    items = client.get(f"/v1/clients/{client_id}/plans", headers=auth()).json()["items"]
    assert [(p["kind"], p["open"]) for p in items] == [
        ("client_plan", False),
        ("rehabilitation_plan", True),
        ("client_plan", True),
    ]
    assert database.count("care_plan") == 3


def test_the_plans_review_brings_the_reassessment_forward(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1, segment=4, ago=10)  # care: Helsinki's policy re-assesses in 90 days
    policy = segment(client, auth, client_id)
    assert policy["reassess_basis"] == "policy"
    review = date.today() + timedelta(days=20)
    plan(client, auth, client_id, review)
    shown = segment(client, auth, client_id)
    assert shown["reassess_by"] == start_of(review)
    assert shown["reassess_basis"] == "plan"
    assert shown["reassessment_due"] is False


def test_a_review_after_the_policy_date_leaves_the_policy_date(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1, segment=4, ago=10)
    before = segment(client, auth, client_id)["reassess_by"]
    plan(client, auth, client_id, date.today() + timedelta(days=200))
    shown = segment(client, auth, client_id)
    assert (shown["reassess_by"], shown["reassess_basis"]) == (before, "policy")


def test_a_replaced_plans_review_no_longer_counts(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1, segment=4, ago=10)
    plan(client, auth, client_id, date.today() - timedelta(days=1), made_at=iso(days_ago(5)))
    assert segment(client, auth, client_id)["reassessment_due"] is True
    plan(client, auth, client_id, date.today() + timedelta(days=300), made_at=iso(days_ago(1)))
    shown = segment(client, auth, client_id)
    assert (shown["reassess_basis"], shown["reassessment_due"]) == ("policy", False)


def test_bad_plans_are_refused_naming_the_field(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(1)
    cases = {
        "kind": {"kind": "wish_list"},
        "review_by": {"review_by": str(date.today() - timedelta(days=10))},
        "made_at": {"made_at": iso(days_ago(-1))},
    }
    for field, change in cases.items():
        body = {"kind": "client_plan", "made_at": iso(days_ago(2)), "review_by": "2099-01-01"}
        response = client.post(
            f"/v1/clients/{client_id}/plans", json={**body, **change}, headers=auth()
        )
        assert response.status_code == 422, (field, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field]
    for day in ("2027-02-30", "01.03.2027", 20270301):
        body = {"kind": "client_plan", "made_at": iso(days_ago(2)), "review_by": day}
        response = client.post(f"/v1/clients/{client_id}/plans", json=body, headers=auth())
        assert response.status_code == 422
    assert database.count("care_plan") == 0


def test_plans_need_care_write_and_another_tenant_finds_nothing(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1)
    body = {"kind": "service_plan", "made_at": iso(days_ago(1)), "review_by": "2099-01-01"}
    path = f"/v1/clients/{client_id}/plans"
    assert client.post(path, json=body, headers=auth(scopes=["segments:read"])).status_code == 403
    foreign = auth(org="vantaa-kerava")
    assert client.post(path, json=body, headers=foreign).status_code == 404
    assert client.get(path, headers=foreign).status_code == 404
