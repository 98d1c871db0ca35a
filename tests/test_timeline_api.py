"""A client's segment over time: in force at a moment, the history, and retractions."""

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Auth
from tests.helpers import HELSINKI_ASPECTS, helsinki_assessment


def assess(
    client: TestClient, auth: Auth, coping: str, risk: str, at: str, **fields: Any
) -> dict[str, Any]:
    response = client.post(
        "/v1/assessments",
        json=helsinki_assessment(coping, risk, effective_at=at, **fields),
        headers=auth(),
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_the_segment_in_force_says_what_it_means_for_the_service(
    client: TestClient, auth: Auth
) -> None:
    created = assess(client, auth, "difficult", "many", "2026-03-01T09:00:00+02:00")
    response = client.get(
        f"/v1/clients/{created['client_id']}/segment", headers=auth(**{"Accept-Language": "en"})
    )
    assert response.status_code == 200
    segment = response.json()
    assert (segment["code"], segment["key"], segment["register_code"]) == (4, "care", 4)
    assert segment["since"] == "2026-03-01T07:00:00Z"
    assert segment["assessment_id"] == created["assessment_id"]
    assert segment["group"]["key"] == "PPT"
    assert [i["aspect"] for i in segment["implications"]] == HELSINKI_ASPECTS
    assert segment["description"]
    assert segment["consent"] == {"health_register": None, "since": None}
    assert segment["reassess_by"] == "2026-05-30T07:00:00Z"
    assert segment["reassessment_due"] is True  # today is past it
    on_time = client.get(
        f"/v1/clients/{created['client_id']}/segment",
        params={"at": "2026-05-01T00:00:00Z"},
        headers=auth(),
    ).json()
    assert on_time["reassessment_due"] is False


def test_the_segment_at_a_past_moment_and_before_any_assessment(
    client: TestClient, auth: Auth
) -> None:
    first = assess(client, auth, "easy", "few", "2026-01-10T12:00:00+02:00")
    assess(client, auth, "easy", "many", "2026-06-10T12:00:00+03:00")
    url = f"/v1/clients/{first['client_id']}/segment"
    assert (
        client.get(url, params={"at": "2026-03-01T00:00:00Z"}, headers=auth()).json()["code"] == 1
    )
    assert client.get(url, headers=auth()).json()["code"] == 3
    before = client.get(url, params={"at": "2025-12-31T00:00:00Z"}, headers=auth())
    assert before.status_code == 404


def test_history_is_oldest_first_with_previous_segment_and_changed(
    client: TestClient, auth: Auth
) -> None:
    first = assess(client, auth, "easy", "few", "2026-01-10T12:00:00+02:00")
    assess(client, auth, "easy", "few", "2026-02-10T12:00:00+02:00")
    assess(
        client,
        auth,
        "difficult",
        "few",
        "2026-03-10T12:00:00+02:00",
        override_reason="checked with the family",
    )
    items = client.get(f"/v1/clients/{first['client_id']}/segment-history", headers=auth()).json()[
        "items"
    ]
    assert [i["segment"]["code"] for i in items] == [1, 1, 2]
    assert [i["previous_segment"] and i["previous_segment"]["code"] for i in items] == [None, 1, 1]
    assert [i["changed"] for i in items] == [True, False, True]
    assert items[2]["reason"] == "checked with the family"
    assert all(i["status"] == "active" and i["recorded_by"] for i in items)


def test_a_back_dated_assessment_takes_its_place_in_the_timeline(
    client: TestClient, auth: Auth
) -> None:
    later = assess(client, auth, "difficult", "many", "2026-05-01T12:00:00+03:00")
    assess(client, auth, "easy", "few", "2026-01-01T12:00:00+02:00")
    items = client.get(f"/v1/clients/{later['client_id']}/segment-history", headers=auth()).json()[
        "items"
    ]
    assert [i["segment"]["code"] for i in items] == [1, 4]
    assert items[1]["previous_segment"]["code"] == 1
    assert items[0]["recorded_at"] > items[1]["recorded_at"]


def test_retraction_keeps_the_entry_and_the_segment_falls_back(
    client: TestClient, auth: Auth
) -> None:
    first = assess(client, auth, "easy", "few", "2026-01-10T12:00:00+02:00")
    wrong = assess(client, auth, "difficult", "many", "2026-02-10T12:00:00+02:00")
    third = assess(client, auth, "easy", "many", "2026-03-10T12:00:00+02:00")
    retracted = client.post(
        f"/v1/assessments/{wrong['assessment_id']}/retraction",
        json={"reason": "entered for the wrong client"},
        headers=auth(sub="nurse-2"),
    )
    assert retracted.status_code == 201
    assert retracted.json()["status"] == "retracted"
    assert retracted.json()["retraction"]["retracted_by"] == "nurse-2"
    client_id = first["client_id"]
    segment = client.get(
        f"/v1/clients/{client_id}/segment", params={"at": "2026-02-20T00:00:00Z"}, headers=auth()
    ).json()
    assert segment["assessment_id"] == first["assessment_id"]
    items = client.get(f"/v1/clients/{client_id}/segment-history", headers=auth()).json()["items"]
    assert [i["status"] for i in items] == ["active", "retracted", "active"]
    assert items[2]["assessment_id"] == third["assessment_id"]
    assert items[2]["previous_segment"]["code"] == 1
    read = client.get(f"/v1/assessments/{wrong['assessment_id']}", headers=auth()).json()
    assert read["status"] == "retracted"
    assert read["retraction"]["reason"] == "entered for the wrong client"


def test_retracting_twice_is_a_conflict(client: TestClient, auth: Auth) -> None:
    created = assess(client, auth, "easy", "few", "2026-01-10T12:00:00+02:00")
    url = f"/v1/assessments/{created['assessment_id']}/retraction"
    assert client.post(url, json={"reason": "duplicate"}, headers=auth()).status_code == 201
    again = client.post(url, json={"reason": "duplicate"}, headers=auth())
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


def test_retracting_the_only_assessment_leaves_no_segment(client: TestClient, auth: Auth) -> None:
    created = assess(client, auth, "easy", "few", "2026-01-10T12:00:00+02:00")
    client.post(
        f"/v1/assessments/{created['assessment_id']}/retraction",
        json={"reason": "not our client"},
        headers=auth(),
    )
    response = client.get(f"/v1/clients/{created['client_id']}/segment", headers=auth())
    assert response.status_code == 404
