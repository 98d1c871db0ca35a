"""A client's care team: named contacts and team members from a moment until an explicit end;
the history is kept and can be read as of any moment."""

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.care.conftest import Assess, days_ago, iso
from tests.conftest import Auth, TestDatabase, new_uuid

CONTACT = {
    "professional": "nurse@helsinki.example",
    "role": "named_contact",
    "title": "hoitovastaava",
}


def add(client: TestClient, auth: Auth, client_id: str, **fields: object) -> dict[str, object]:
    response = client.post(
        f"/v1/clients/{client_id}/care-team", json={**CONTACT, **fields}, headers=auth()
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def team(client: TestClient, auth: Auth, client_id: str, at: str | None = None) -> list[str]:
    params = {"at": at} if at else {}
    response = client.get(f"/v1/clients/{client_id}/care-team", params=params, headers=auth())
    assert response.status_code == 200, response.text
    return [item["professional"] for item in response.json()["items"]]


def test_a_named_contact_is_in_the_team_from_its_start(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1)
    start = days_ago(3)
    member = add(client, auth, client_id, **{"from": iso(start)})
    assert member["role"] == "named_contact" and member["title"] == "hoitovastaava"
    assert member["from"] == start.isoformat().replace("+00:00", "Z")
    assert member["ended_at"] is None
    assert team(client, auth, client_id) == ["nurse@helsinki.example"]
    assert team(client, auth, client_id, iso(start)) == ["nurse@helsinki.example"]
    assert team(client, auth, client_id, iso(start - timedelta(microseconds=1))) == []


def test_an_ended_membership_is_kept_and_read_as_of_any_moment(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(1)
    start, end = days_ago(30), days_ago(10)
    member = add(client, auth, client_id, **{"from": iso(start)})
    ended = client.post(
        f"/v1/clients/{client_id}/care-team/{member['member_id']}/end",
        json={"at": iso(end)},
        headers=auth(),
    )
    assert ended.status_code == 201, ended.text
    assert ended.json()["ended_at"] == end.isoformat().replace("+00:00", "Z")
    assert team(client, auth, client_id) == []
    assert team(client, auth, client_id, iso(end)) == []
    before_end = client.get(
        f"/v1/clients/{client_id}/care-team",
        params={"at": iso(end - timedelta(microseconds=1))},
        headers=auth(),
    ).json()["items"]
    assert [m["member_id"] for m in before_end] == [member["member_id"]]
    assert before_end[0]["ended_at"] is not None
    assert database.count("care_team_member") == 1
    assert database.count("care_team_end") == 1


def test_a_new_contact_after_the_old_one_leaves_both_in_the_history(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1)
    first = add(client, auth, client_id, **{"from": iso(days_ago(30))})
    client.post(
        f"/v1/clients/{client_id}/care-team/{first['member_id']}/end",
        json={"at": iso(days_ago(5))},
        headers=auth(),
    )
    add(
        client,
        auth,
        client_id,
        professional="sw@helsinki.example",
        title="omatyöntekijä",
        **{"from": iso(days_ago(5))},
    )
    assert team(client, auth, client_id) == ["sw@helsinki.example"]
    assert team(client, auth, client_id, iso(days_ago(6))) == ["nurse@helsinki.example"]


def test_ending_twice_is_a_conflict_and_writes_nothing(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(1)
    member = add(client, auth, client_id, **{"from": iso(days_ago(3))})
    path = f"/v1/clients/{client_id}/care-team/{member['member_id']}/end"
    assert client.post(path, json={"at": iso(days_ago(2))}, headers=auth()).status_code == 201
    again = client.post(path, json={"at": iso(days_ago(1))}, headers=auth())
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert database.count("care_team_end") == 1


def test_ending_before_the_start_names_the_field(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(1)
    member = add(client, auth, client_id, **{"from": iso(days_ago(3))})
    response = client.post(
        f"/v1/clients/{client_id}/care-team/{member['member_id']}/end",
        json={"at": iso(days_ago(4))},
        headers=auth(),
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["at"]
    assert database.count("care_team_end") == 0


def test_an_unknown_member_or_another_clients_member_is_not_found(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    first, second = assess(1), assess(2)
    member = add(client, auth, first, **{"from": iso(days_ago(3))})
    for client_id, member_id in ((first, new_uuid()), (second, member["member_id"])):
        response = client.post(
            f"/v1/clients/{client_id}/care-team/{member_id}/end",
            json={"at": iso(days_ago(1))},
            headers=auth(),
        )
        assert response.status_code == 404, (client_id, member_id)


def test_another_tenants_client_is_not_found_and_the_attempt_is_logged(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(1)
    foreign = auth(org="vantaa-kerava", sub="nurse@vantaa.example")
    added = client.post(
        f"/v1/clients/{client_id}/care-team",
        json={**CONTACT, "from": iso(days_ago(1))},
        headers=foreign,
    )
    assert added.status_code == 404
    assert client.get(f"/v1/clients/{client_id}/care-team", headers=foreign).status_code == 404
    assert database.count("care_team_member") == 0
    log = client.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()["items"]
    refused = {(e["operation"], e["actor"]) for e in log if e["outcome"] == "not_found"}
    actor = "nurse@vantaa.example (vantaa-kerava)"
    assert refused == {("add_care_team_member", actor), ("read_care_team", actor)}


def test_care_team_writes_need_care_write_and_reads_segments_read(
    client: TestClient, auth: Auth, assess: Assess
) -> None:
    client_id = assess(1)
    body = {**CONTACT, "from": iso(days_ago(1))}
    path = f"/v1/clients/{client_id}/care-team"
    assert client.post(path, json=body, headers=auth(scopes=["segments:read"])).status_code == 403
    assert client.get(path, headers=auth(scopes=["care:write"])).status_code == 403
    assert client.post(path, json=body, headers=auth(scopes=["care:write"])).status_code == 201
    assert client.get(path, headers=auth(scopes=["segments:read"])).status_code == 200


def test_bad_memberships_are_refused_naming_the_field(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(1)
    cases = {
        "role": {"role": "boss"},
        "from": {"from": iso(days_ago(-1))},
        "professional": {"professional": "131052-308T"},
        "title": {"title": "  "},
    }
    for field, change in cases.items():
        body = {**CONTACT, "from": iso(days_ago(1)), **change}
        response = client.post(f"/v1/clients/{client_id}/care-team", json=body, headers=auth())
        assert response.status_code == 422, field
        assert [e["field"] for e in response.json()["errors"]] == [field]
        assert "131052-308T" not in response.text
    assert database.count("care_team_member") == 0


def test_a_retried_membership_is_written_once(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(1)
    body = {**CONTACT, "from": iso(days_ago(1))}
    headers = auth(**{"Idempotency-Key": "care-team-1"})
    first = client.post(f"/v1/clients/{client_id}/care-team", json=body, headers=headers)
    again = client.post(f"/v1/clients/{client_id}/care-team", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert database.count("care_team_member") == 1
    other = client.post(
        f"/v1/clients/{client_id}/care-team", json={**body, "title": "lääkäri"}, headers=headers
    )
    assert other.status_code == 422


def test_the_same_professional_twice_in_one_open_role_is_a_conflict(
    client: TestClient, auth: Auth, assess: Assess, database: TestDatabase
) -> None:
    client_id = assess(1)
    first = add(client, auth, client_id, **{"from": iso(days_ago(3))})
    again = client.post(
        f"/v1/clients/{client_id}/care-team",
        json={**CONTACT, "from": iso(days_ago(1))},
        headers=auth(),
    )
    assert again.status_code == 409, again.text
    assert database.count("care_team_member") == 1
    # Ended, the role can be taken again; another role is another membership.
    end = f"/v1/clients/{client_id}/care-team/{first['member_id']}/end"
    assert client.post(end, json={"at": iso(days_ago(2))}, headers=auth()).status_code == 201
    add(client, auth, client_id, **{"from": iso(days_ago(1))})
    add(client, auth, client_id, role="team_member", **{"from": iso(days_ago(1))})
