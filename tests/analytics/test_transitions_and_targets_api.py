"""Moves between segments over a period, and the shares against the county's targets."""

from fastapi.testclient import TestClient

from tests.analytics.conftest import Place
from tests.conftest import Auth

MOVES = "/v1/analytics/transitions"
TARGETS = "/v1/analytics/targets"
JAN, MAR, JUN = "2025-01-10T09:00:00+02:00", "2025-03-10T09:00:00+02:00", "2025-06-10T09:00:00Z"
PERIOD = {"from": "2025-02-01T00:00:00Z", "to": "2025-07-01T00:00:00Z"}


def matrix(body: dict) -> dict[tuple[int | None, int | None], int | None]:
    return {(r["from_code"], r["to_code"]): r["count"] for r in body["rows"]}


def test_moves_stays_and_entries_are_counted_from_the_segment_in_force_at_each_end(
    client: TestClient, auth: Auth, place: Place
) -> None:
    place(list(range(0, 12)), 1, JAN)
    place(list(range(0, 6)), 2, MAR)  # six move 1 → 2; six stay in 1
    place(list(range(20, 27)), 3, MAR)  # seven enter, into 3
    place(list(range(30, 35)), 4, JAN)
    place(list(range(30, 34)), 3, JUN)  # four move 4 → 3: withheld, and one more in their row
    cells = matrix(client.get(MOVES, params=PERIOD, headers=auth()).json())
    assert len(cells) == 5 * 5 - 1  # every pair but (none, none)
    assert cells[(1, 1)] == 6 and cells[(1, 2)] == 6
    assert cells[(None, 3)] == 7
    assert cells[(4, 3)] is None and cells[(4, 4)] is None  # 4 and the 1 who stayed
    assert cells[(2, 2)] is None  # nobody: zero is withheld like any count under five
    counted = sum(n for n in cells.values() if n is not None)
    assert counted == 6 + 6 + 7


def test_the_period_must_run_forwards_and_the_model_exist(client: TestClient, auth: Auth) -> None:
    backwards = {"from": PERIOD["to"], "to": PERIOD["from"]}
    response = client.get(MOVES, params=backwards, headers=auth())
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "from"
    response = client.get(MOVES, params={"model": "x" * 65}, headers=auth())
    assert response.status_code == 422 and "model" in response.json()["errors"][0]["field"]
    response = client.get(TARGETS, params={"from": "2000-01-01T00:00:00Z"}, headers=auth())
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "from"


def test_kymenlaakso_follows_segment_a_against_the_materials_example_target(
    client: TestClient, auth: Auth, place: Place
) -> None:
    place(list(range(0, 6)), 1, JAN, org="kymenlaakso")  # A
    place(list(range(20, 25)), 2, JAN, org="kymenlaakso")  # B
    place(list(range(6, 12)), 3, JAN, org="kymenlaakso")  # C
    place(list(range(6, 12)), 1, "2025-04-15T00:00:00Z", org="kymenlaakso")  # C → A
    period = {"from": "2025-02-01T00:00:00Z", "to": "2025-06-15T00:00:00Z"}
    body = client.get(TARGETS, params=period, headers=auth(org="kymenlaakso")).json()
    assert body["model"] == "kymenlaakso-2017"
    assert [(t["key"], t["share"]) for t in body["targets"]] == [("A", 0.8)]
    assert [p["at"][:10] for p in body["points"]] == [
        "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01",
    ]  # fmt: skip
    a = [next(s for s in p["segments"] if s["key"] == "A") for p in body["points"]]
    c = [next(s for s in p["segments"] if s["key"] == "C") for p in body["points"]]
    b = [next(s for s in p["segments"] if s["key"] == "B") for p in body["points"]]
    assert [s["count"] for s in a] == [6, 6, 6, 12, 12]
    assert [s["share"] for s in a] == [0.3529, 0.3529, 0.3529, 0.7059, 0.7059]
    # C empties in April: its 0 is withheld, and B's 5 with it, which would give it away
    assert [s["count"] for s in c] == [6, 6, 6, None, None]
    assert [s["count"] for s in b] == [5, 5, 5, None, None]
    assert all(s["target"] == 0.8 for s in a) and all(s["target"] is None for s in c)
    assert [p["total"] for p in body["points"]] == [17, 17, 17, 17, 17]

    helsinki = client.get(TARGETS, params=period, headers=auth()).json()
    assert helsinki["targets"] == [] and helsinki["points"][0]["total"] is None


def test_a_point_exactly_at_a_decisions_effective_time_counts_it(
    client: TestClient, auth: Auth, place: Place
) -> None:
    place(list(range(0, 5)), 2, "2025-03-01T00:00:00Z")
    period = {"from": "2025-02-01T00:00:00Z", "to": "2025-03-01T00:00:00Z"}
    body = client.get(TARGETS, params=period, headers=auth()).json()
    counts = [next(s["count"] for s in p["segments"] if s["code"] == 2) for p in body["points"]]
    assert counts == [None, 5]
