"""Clients per segment in force at a time: exact counts, small numbers withheld, as-of times,
retractions, tenants and scopes — on both databases."""

from fastapi.testclient import TestClient

from tests.analytics.conftest import Place, person
from tests.conftest import Auth

URL = "/v1/analytics/segment-distribution"
JAN, JUN = "2025-01-10T09:00:00+02:00", "2025-06-10T09:00:00+03:00"


def counts(body: dict) -> dict[int, int | None]:
    return {s["code"]: s["count"] for s in body["segments"]}


def shares(body: dict) -> dict[int, float | None]:
    return {s["code"]: s["share"] for s in body["segments"]}


def test_a_count_of_four_is_withheld_and_so_is_the_next_smallest_that_would_give_it_away(
    client: TestClient, auth: Auth, place: Place
) -> None:
    place(list(range(0, 6)), 1, JAN)
    place(list(range(6, 11)), 2, JAN)  # 5: shown on its own, withheld here to hide the 4
    place(list(range(11, 15)), 3, JAN)  # 4
    place(list(range(15, 22)), 4, JAN)
    body = client.get(URL, params={"at": JUN}, headers=auth()).json()
    assert body["model"] == "helsinki-2023" and body["total"] == 22
    assert counts(body) == {1: 6, 2: None, 3: None, 4: 7}
    assert shares(body) == {1: round(6 / 22, 4), 2: None, 3: None, 4: round(7 / 22, 4)}

    place([22], 3, JAN)  # the fourth segment reaches 5: nothing is withheld any more
    body = client.get(URL, params={"at": JUN}, headers=auth()).json()
    assert body["total"] == 23
    assert counts(body) == {1: 6, 2: 5, 3: 5, 4: 7}
    assert sum(shares(body).values()) == 1.0 or abs(sum(shares(body).values()) - 1) < 0.001


def test_two_small_counts_hide_each_other_and_a_small_total_hides_everything(
    client: TestClient, auth: Auth, place: Place
) -> None:
    place(list(range(0, 9)), 1, JAN)
    place([9, 10], 2, JAN)
    place([11], 4, JAN)
    body = client.get(URL, params={"at": JUN}, headers=auth()).json()
    # codes 2 (2), 3 (0) and 4 (1) are all under five: no further one is needed
    assert counts(body) == {1: 9, 2: None, 3: None, 4: None} and body["total"] == 12

    other = client.get(URL, params={"at": JUN}, headers=auth(org="vantaa-kerava")).json()
    assert other["model"] == "vantaa-kerava-2021" and other["total"] is None
    assert set(counts(other).values()) == {None}


def test_the_segment_in_force_at_the_time_asked_counts_and_a_retracted_decision_never_does(
    client: TestClient, auth: Auth, place: Place
) -> None:
    ids = place(list(range(0, 6)), 1, JAN)
    place(list(range(0, 6)), 2, JUN)
    before = client.get(URL, params={"at": "2025-03-01T00:00:00Z"}, headers=auth()).json()
    after = client.get(URL, params={"at": "2025-07-01T00:00:00Z"}, headers=auth()).json()
    assert counts(before)[1] == 6 and counts(before)[2] is None
    assert counts(after)[2] == 6 and counts(after)[1] is None
    at_the_moment = client.get(URL, params={"at": JUN}, headers=auth()).json()
    assert counts(at_the_moment)[2] == 6  # in force from its effective time on

    segment = client.get(f"/v1/clients/{ids[0]}/segment", headers=auth()).json()
    retracted = client.post(
        f"/v1/assessments/{segment['assessment_id']}/retraction",
        json={"reason": "entered for the wrong client"},
        headers=auth(),
    )
    assert retracted.status_code == 201, retracted.text
    after = client.get(URL, params={"at": "2025-07-01T00:00:00Z"}, headers=auth()).json()
    assert after["total"] == 6 and counts(after)[2] == 5 and counts(after)[1] is None


def test_nothing_of_another_tenant_is_counted(client: TestClient, auth: Auth, place: Place) -> None:
    place(list(range(0, 7)), 3, JAN, org="vantaa-kerava")
    mine = client.get(URL, params={"at": JUN, "model": "helsinki-2023"}, headers=auth()).json()
    assert mine["total"] is None and counts(mine)[3] is None
    theirs = client.get(
        URL, params={"at": JUN, "model": "helsinki-2023"}, headers=auth(org="vantaa-kerava")
    ).json()
    assert theirs["total"] == 7 and counts(theirs)[3] == 7


def test_population_figures_need_the_analytics_scope(client: TestClient, auth: Auth) -> None:
    refused = client.get(URL, headers=auth(scopes=["segments:read"]))
    assert refused.status_code == 403
    assert "analytics:read" in refused.json()["detail"]
    assert client.get(URL, headers=auth(scopes=["analytics:read"])).status_code == 200
    assert client.get(URL).status_code == 401


def test_bad_parameters_are_refused_naming_the_parameter(client: TestClient, auth: Auth) -> None:
    for params, field in (
        ({"model": "no-such-model"}, "model"),
        ({"at": "yesterday"}, "at"),
        ({"at": "2025-01-01T00:00:00"}, "at"),
        ({"by": "postcode"}, "by"),
    ):
        response = client.get(URL, params=params, headers=auth())
        assert response.status_code in (400, 422), params
        assert response.headers["content-type"].startswith("application/problem+json")
        assert any(field in e["field"] for e in response.json()["errors"]), response.json()


def test_by_age_band_counts_clients_without_a_birth_date_in_a_band_of_their_own(
    client: TestClient, auth: Auth, place: Place
) -> None:
    old = [person(n, birth=f"{n + 1:02d}0140") for n in range(6)]  # 85 in mid-2025
    young = [person(n, birth=f"{n + 1:02d}0190") for n in range(10, 15)]  # 35
    unknown = [person(n, birth="none") for n in range(20, 24)]  # 4, no birth date
    place(old, 4, JAN)
    place(young, 1, JAN)
    place(unknown, 1, JAN)
    body = client.get(URL, params={"at": JUN, "by": "age_band"}, headers=auth()).json()
    assert body["by"] == "age_band" and body["total"] == 15
    rows = {r["key"]: r for r in body["breakdown"]}
    assert rows["85+"]["total"] == 6 and counts(rows["85+"])[4] == 6
    assert rows["18-64"]["total"] == 5 and counts(rows["18-64"])[1] == 5
    assert rows["unknown"]["total"] is None and counts(rows["unknown"])[1] is None
    # segment 1's 9 less the 18–64 band's 5 leaves 4 spread over the withheld bands: more
    # than one, so no reader can tell which band they are in
    withheld_in_1 = [key for key, row in rows.items() if counts(row)[1] is None]
    assert counts(body)[1] == 9 and len(withheld_in_1) > 1 and "unknown" in withheld_in_1
    assert counts(body)[4] == 6


def test_by_group_sums_the_models_groups(client: TestClient, auth: Auth, place: Place) -> None:
    place(list(range(0, 6)), 1, JAN)
    place(list(range(6, 12)), 2, JAN)
    place(list(range(12, 19)), 4, JAN)
    body = client.get(URL, params={"at": JUN, "by": "group"}, headers=auth()).json()
    groups = {r["key"]: r["total"] for r in body["breakdown"]}
    assert groups == {"SPT": 12, "PPT": 7}
