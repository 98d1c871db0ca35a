"""Worklists: whose re-assessment is due, who lacks the coordination their segment requires,
and a professional's own clients — keyset-paged, per tenant, each listed client logged."""

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.care.conftest import Assess, days_ago, iso
from tests.conftest import Auth, TestDatabase


def worklist(
    client: TestClient,
    auth: Auth,
    name: str,
    org: str = "helsinki",
    sub: str = "coordinator",
    **params: Any,
) -> dict[str, Any]:
    response = client.get(f"/v1/worklists/{name}", params=params, headers=auth(org=org, sub=sub))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def every_page(
    client: TestClient, auth: Auth, name: str, limit: int, **params: Any
) -> list[list[str]]:
    pages, after = [], None
    while True:
        query = {"limit": limit, **params, **({"after": after} if after else {})}
        body = worklist(client, auth, name, **query)
        pages.append([item["client_id"] for item in body["items"]])
        after = body["next"]
        if after is None:
            return pages


def join(
    client: TestClient,
    auth: Auth,
    client_id: str,
    who: str,
    role: str = "named_contact",
    ago: float = 1,
) -> str:
    body = {"professional": who, "role": role, "title": "hoitovastaava", "from": iso(days_ago(ago))}
    response = client.post(f"/v1/clients/{client_id}/care-team", json=body, headers=auth())
    assert response.status_code == 201, response.text
    member_id: str = response.json()["member_id"]
    return member_id


def plan(
    client: TestClient, auth: Auth, client_id: str, review_by: date, made_ago: float = 1
) -> None:
    body = {"kind": "client_plan", "made_at": iso(days_ago(made_ago)), "review_by": str(review_by)}
    response = client.post(f"/v1/clients/{client_id}/plans", json=body, headers=auth())
    assert response.status_code == 201, response.text


# Helsinki's shipped policy: self-care 365 days, support and collaboration 180, care 90.


def test_the_most_overdue_re_assessment_comes_first(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    care = assess(1, segment=4, ago=100)  # 10 days overdue
    self_care = assess(2, segment=1, ago=400)  # 35 days overdue
    assess(3, segment=3, ago=10)  # due in 170 days
    items = worklist(client, auth, "reassessment-due")["items"]
    assert [(i["client_id"], i["overdue_days"]) for i in items] == [(self_care, 35), (care, 10)]
    assert items[0]["segment"]["code"] == 1 and items[0]["reassess_basis"] == "policy"


def test_within_days_also_lists_what_falls_due_soon(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    assess(1, segment=4, ago=100)
    soon = assess(2, segment=3, ago=175)  # due in 5 days
    assert soon not in [i["client_id"] for i in worklist(client, auth, "reassessment-due")["items"]]
    items = worklist(client, auth, "reassessment-due", within_days=6)["items"]
    assert [i["overdue_days"] for i in items if i["client_id"] == soon] == [-5]


def test_a_plans_review_brings_a_client_onto_the_list(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    overdue = assess(1, segment=4, ago=95)  # 5 days overdue by policy
    reviewed = assess(2, segment=3, ago=10)  # policy: in 170 days
    plan(client, auth, reviewed, date.today() - timedelta(days=7), made_ago=9)
    items = worklist(client, auth, "reassessment-due")["items"]
    assert [(i["client_id"], i["reassess_basis"]) for i in items] == [
        (reviewed, "plan"),
        (overdue, "policy"),
    ]


def test_a_retracted_assessment_leaves_the_list(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1, segment=4, ago=100)
    assessment_id = client.get(f"/v1/clients/{client_id}/segment", headers=auth()).json()[
        "assessment_id"
    ]
    client.post(
        f"/v1/assessments/{assessment_id}/retraction",
        json={"reason": "wrong client"},
        headers=auth(),
    )
    assert worklist(client, auth, "reassessment-due")["items"] == []


def test_pages_of_re_assessments_have_no_repeats_and_no_gaps(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    for n in range(7):
        assess(n, segment=4 if n % 2 else 1, ago=400 + n % 3)  # ties on the same moment
    whole = every_page(client, auth, "reassessment-due", limit=100)
    assert len(whole) == 1 and len(whole[0]) == 7
    for limit in (1, 2, 3):
        pages = every_page(client, auth, "reassessment-due", limit=limit)
        assert [c for page in pages for c in page] == whole[0], limit
        assert all(len(page) == limit for page in pages[:-1])


def test_coordination_gaps_list_what_the_segment_requires_and_the_client_lacks(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    care = assess(1, segment=4, ago=30)
    collaboration = assess(2, segment=3, ago=60)
    assess(3, segment=1, ago=90)  # requires nothing
    complete = assess(4, segment=4, ago=120)
    join(client, auth, complete, "nurse@helsinki.example")
    plan(client, auth, complete, date.today() + timedelta(days=30))
    join(client, auth, care, "nurse@helsinki.example")
    items = worklist(client, auth, "coordination-gaps")["items"]
    assert [(i["client_id"], i["missing"], i["advised"]) for i in items] == [
        (collaboration, ["named_contact", "plan"], []),
        (care, ["plan"], ["team"]),
    ]
    assert items[0]["since"][:10] == days_ago(60).date().isoformat()


def test_an_ended_contact_puts_the_client_back_on_the_gap_list(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1, segment=3, ago=30)
    plan(client, auth, client_id, date.today() + timedelta(days=30))
    member_id = join(client, auth, client_id, "nurse@helsinki.example", ago=20)
    assert worklist(client, auth, "coordination-gaps")["items"] == []
    client.post(
        f"/v1/clients/{client_id}/care-team/{member_id}/end",
        json={"at": iso(days_ago(2))},
        headers=auth(),
    )
    items = worklist(client, auth, "coordination-gaps")["items"]
    assert [(i["client_id"], i["missing"]) for i in items] == [(client_id, ["named_contact"])]


def test_pages_of_gaps_have_no_repeats_and_no_gaps(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    for n in range(6):
        assess(n, segment=3 + n % 2, ago=10 + n % 2)
    whole = every_page(client, auth, "coordination-gaps", limit=100)[0]
    assert len(whole) == 6
    for limit in (1, 4):
        pages = every_page(client, auth, "coordination-gaps", limit=limit)
        assert [c for page in pages for c in page] == whole


def test_mine_lists_the_callers_clients_now_with_their_dates_and_gaps(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    me = "nurse@helsinki.example"
    contact = assess(1, segment=4, ago=100)
    team = assess(2, segment=3, ago=10)
    unassessed_but_mine = assess(3, segment=1, ago=10)
    ended = assess(4, segment=4, ago=10)
    someone_elses = assess(5, segment=4, ago=10)
    join(client, auth, contact, me)
    join(client, auth, team, me, role="team_member")
    join(client, auth, unassessed_but_mine, me, role="team_member")
    member_id = join(client, auth, ended, me, ago=5)
    client.post(
        f"/v1/clients/{ended}/care-team/{member_id}/end",
        json={"at": iso(days_ago(1))},
        headers=auth(),
    )
    join(client, auth, someone_elses, "other@helsinki.example")
    items = worklist(client, auth, "mine", sub=me)["items"]
    assert [i["client_id"] for i in items] == [contact, team, unassessed_but_mine]
    first = items[0]
    assert (first["roles"], first["overdue_days"], first["missing"], first["advised"]) == (
        ["named_contact"],
        10,
        ["plan"],
        ["team"],
    )
    assert items[1]["missing"] == ["named_contact", "plan"]
    pages = every_page(client, auth, "mine", limit=1, sub=me)
    assert [c for page in pages for c in page] == [contact, team, unassessed_but_mine]


def test_a_client_without_a_segment_is_still_on_its_professionals_list(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1, segment=4, ago=10)
    assessment_id = client.get(f"/v1/clients/{client_id}/segment", headers=auth()).json()[
        "assessment_id"
    ]
    client.post(
        f"/v1/assessments/{assessment_id}/retraction",
        json={"reason": "entered in error"},
        headers=auth(),
    )
    join(client, auth, client_id, "nurse@helsinki.example")
    items = worklist(client, auth, "mine", sub="nurse@helsinki.example")["items"]
    assert [(i["segment"], i["reassess_by"], i["missing"]) for i in items] == [(None, None, [])]


def test_each_listed_client_is_logged_as_a_worklist_access(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    listed = {assess(1, segment=4, ago=100), assess(2, segment=4, ago=101)}
    assess(3, segment=4, ago=1)
    before = database.scalar("SELECT count(*) FROM access_log WHERE operation = 'worklist'")
    worklist(client, auth, "reassessment-due", limit=1)
    worklist(client, auth, "reassessment-due")
    assert (
        database.scalar("SELECT count(*) FROM access_log WHERE operation = 'worklist'")
        == before + 3
    )
    for client_id in listed:
        log = client.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()["items"]
        assert "worklist" in [e["operation"] for e in log]


def test_a_tenant_sees_only_its_own_clients(client: TestClient, auth: Auth, assess: Assess) -> None:
    assess(1, segment=4, ago=100)
    for name in ("reassessment-due", "coordination-gaps", "mine"):
        assert worklist(client, auth, name, org="vantaa-kerava")["items"] == []


def test_a_cursor_of_another_tenant_list_or_altered_is_refused(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    assess(1, segment=4, ago=100)
    assess(2, segment=4, ago=101)
    cursor = worklist(client, auth, "reassessment-due", limit=1)["next"]
    assert cursor
    body, signature = cursor.split(".")
    for name, org, after in (
        ("reassessment-due", "vantaa-kerava", cursor),
        ("coordination-gaps", "helsinki", cursor),
        ("reassessment-due", "helsinki", f"{body}x.{signature}"),
        ("reassessment-due", "helsinki", "garbage"),
    ):
        response = client.get(
            f"/v1/worklists/{name}", params={"after": after}, headers=auth(org=org)
        )
        assert response.status_code == 400, (name, org, after)
        assert response.json()["errors"][0]["field"] == "after"


def test_worklists_need_their_scope(client: TestClient, auth: Auth) -> None:
    for name in ("reassessment-due", "coordination-gaps", "mine"):
        response = client.get(f"/v1/worklists/{name}", headers=auth(scopes=["segments:read"]))
        assert response.status_code == 403
