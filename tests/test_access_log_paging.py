"""A client's access log, read a page at a time, and an access refused across tenants: the
client's own county sees who tried, the caller learns nothing but "not found"."""

import base64
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Auth, TestDatabase
from tests.helpers import helsinki_assessment, hetu

ADULT = hetu("010180", "-", 222)


def entry(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["at"], item["actor"], item["operation"], item["purpose"], item["outcome"])


def access_log(client: TestClient, auth: Auth, client_id: str, **params: Any) -> Any:
    response = client.get(f"/v1/clients/{client_id}/access-log", params=params, headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def logged_client(committed_client: TestClient, auth: Auth) -> str:
    """An adult assessed, read twice, exported to the register and read three times more: a log
    of seven entries of two kinds (the export's is worked out from the export runs), the
    export's in the middle."""
    body = helsinki_assessment(client={"hetu": ADULT}, consent={"health_register": True})
    created = committed_client.post(
        "/v1/assessments", json=body, headers=auth(**{"X-Purpose": "intake"})
    )
    assert created.status_code == 201, created.text
    client_id: str = created.json()["client_id"]

    def visit(number: int) -> None:
        read = committed_client.get(
            f"/v1/clients/{client_id}/segment", headers=auth(**{"X-Purpose": f"visit {number}"})
        )
        assert read.status_code == 200, read.text

    visit(1)
    visit(2)
    export = committed_client.get(
        "/v1/exports/segments",
        params={"format": "ndjson"},
        headers=auth(sub="apotti-sync", **{"X-Purpose": "register sync"}),
    )
    assert export.status_code == 200 and client_id in export.text
    for number in (3, 4, 5):
        visit(number)
    return client_id


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_the_access_log_read_page_by_page_is_the_whole_log_once(
    committed_client: TestClient, auth: Auth, logged_client: str, limit: int
) -> None:
    whole = access_log(committed_client, auth, logged_client)["items"]
    assert [item["purpose"] for item in whole] == [
        *(f"visit {n}" for n in (5, 4, 3)),
        "register sync",
        *(f"visit {n}" for n in (2, 1)),
        "intake",
    ]
    assert whole[3]["operation"] == "export" and whole[0]["operation"] == "read_segment"

    pages, params = [], {"limit": limit}
    for _ in range(len(whole) + 2):
        page = access_log(committed_client, auth, logged_client, **params)
        pages.append(page["items"])
        if page["next"] is None:
            break
        params = {"limit": limit, "before": page["next"]}
    else:
        pytest.fail(f"still a `next` after {len(pages)} pages of {limit}")

    # The reading of the whole log is now the newest entry; reading pages adds entries after
    # the first page, which the next pages (all from before it) do not show.
    read = [entry(item) for items in pages for item in items]
    assert read[0][2] == "read_access_log"
    assert read[1:] == [entry(item) for item in whole]
    assert all(len(items) == limit for items in pages[:-1]) and 0 < len(pages[-1]) <= limit


def test_a_before_written_in_another_time_zone_is_the_same_moment(
    committed_client: TestClient, auth: Auth, logged_client: str
) -> None:
    first = access_log(committed_client, auth, logged_client, limit=2)
    at, _, entry = base64.urlsafe_b64decode(first["next"]).decode().partition("|")
    in_helsinki = datetime.fromisoformat(at).astimezone(timezone(timedelta(hours=2)))
    assert in_helsinki.utcoffset() != datetime.fromisoformat(at).utcoffset()
    same = base64.urlsafe_b64encode(f"{in_helsinki.isoformat()}|{entry}".encode()).decode()

    by_next = access_log(committed_client, auth, logged_client, limit=2, before=first["next"])
    by_same_moment = access_log(committed_client, auth, logged_client, limit=2, before=same)
    assert by_same_moment == by_next


@pytest.mark.parametrize(
    "before",
    [
        "not a cursor",
        base64.urlsafe_b64encode(b"yesterday|someone").decode(),
        base64.urlsafe_b64encode(f"2026-01-01T00:00:00|{uuid.uuid4()}".encode()).decode(),
        "",
    ],
    ids=["not-base64", "not-a-position", "no-time-zone", "empty"],
)
def test_a_before_the_service_did_not_give_is_refused_naming_it(
    committed_client: TestClient, auth: Auth, logged_client: str, before: str
) -> None:
    response = committed_client.get(
        f"/v1/clients/{logged_client}/access-log", params={"before": before}, headers=auth()
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["before"]


@pytest.mark.parametrize("limit", [0, 1001])
def test_a_page_size_out_of_range_is_refused_naming_limit(
    client: TestClient, auth: Auth, limit: int
) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    response = client.get(
        f"/v1/clients/{created['client_id']}/access-log", params={"limit": limit}, headers=auth()
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["limit"]


def test_another_tenants_attempt_is_in_the_owners_log_and_the_caller_sees_only_404(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    client_id, assessment_id = created["client_id"], created["assessment_id"]
    vantaa = auth(org="vantaa-kerava", sub="nurse@vantaa.example")

    segment = client.get(f"/v1/clients/{client_id}/segment", headers=vantaa)
    assessment = client.get(f"/v1/assessments/{assessment_id}", headers=vantaa)
    nobody = client.get(f"/v1/clients/{uuid.uuid4()}/segment", headers=vantaa)

    # To the caller, another county's client is exactly as absent as no client at all.
    assert segment.status_code == assessment.status_code == nobody.status_code == 404
    assert segment.json()["detail"] == nobody.json()["detail"]
    assert "helsinki" not in segment.text + assessment.text

    refused = [
        (item["actor"], item["operation"], item["outcome"])
        for item in access_log(client, auth, client_id)["items"]
        if item["outcome"] != "ok"
    ]
    assert refused == [
        ("nurse@vantaa.example (vantaa-kerava)", "read_assessment", "not_found"),
        ("nurse@vantaa.example (vantaa-kerava)", "read_segment", "not_found"),
    ]
    in_callers_log = database.scalar(
        "SELECT count(*) FROM access_log WHERE tenant = 'vantaa-kerava' AND actor LIKE 'nurse@%'"
    )
    assert in_callers_log == 1  # only the attempt on an id that is no one's client
