"""Importing the health register's existing entries: all or nothing, idempotent, streamed,
and joined to each client's timeline and the export like any decision — on both databases."""

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.assessments.models import assessment, segment_span
from app.db import create_sync_engine
from app.imports import service as import_service
from app.main import create_app
from tests.conftest import Auth, make_settings
from tests.helpers import helsinki_assessment, hetu

IMPORT = "/v1/imports/segments"
NDJSON = {"Content-Type": "application/x-ndjson"}
PERSON = hetu("010170", "-", 432)
OTHER = hetu("150365", "-", 518)


def entry(person: str = PERSON, **fields: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "client": {"hetu": person},
        "model": "helsinki-2023",
        "segment_code": 3,
        "effective_at": "2024-03-01T09:00:00Z",
        "recorded_by": "register@helsinki.example",
        "consent": {"health_register": True},
    }
    line.update(fields)
    return line


def ndjson(*lines: dict[str, Any] | str) -> bytes:
    return "".join(
        (line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines
    ).encode()


def post_import(
    client: TestClient, auth: Auth, body: bytes, org: str = "helsinki", **headers: str
) -> Any:
    return client.post(IMPORT, content=body, headers={**auth(org=org), **NDJSON, **headers})


def client_id_of(client: TestClient, auth: Auth, person: str, org: str = "helsinki") -> str | None:
    response = client.post("/v1/clients/lookup", json={"hetu": person}, headers=auth(org=org))
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    found: str = response.json()["client_id"]
    return found


def history(
    client: TestClient, auth: Auth, client_id: str, org: str = "helsinki"
) -> list[dict[str, Any]]:
    response = client.get(f"/v1/clients/{client_id}/segment-history", headers=auth(org=org))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def exported(client: TestClient, auth: Auth, org: str = "helsinki") -> list[dict[str, Any]]:
    response = client.get("/v1/exports/segments?format=ndjson", headers=auth(org=org))
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line]


def test_imported_decisions_join_the_timeline_in_effective_order_and_are_exported(
    client: TestClient, auth: Auth
) -> None:
    live = client.post(
        "/v1/assessments",
        json=helsinki_assessment(client={"hetu": PERSON}, consent={"health_register": True}),
        headers=auth(),
    )
    assert live.status_code == 201, live.text
    body = ndjson(
        entry(effective_at="2024-03-01T09:00:00Z", segment_code=3),
        entry(effective_at="2023-06-01T09:00:00Z", segment_code=4),
    )

    response = post_import(client, auth, body)

    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 2, "lines": 2}
    items = history(client, auth, live.json()["client_id"])
    assert [(i["source"], i["segment"]["code"]) for i in items] == [
        ("import", 4),
        ("import", 3),
        ("assessment", 1),
    ]
    assert [i["effective_at"] for i in items] == sorted(i["effective_at"] for i in items)
    # Helsinki's 2021 version was in force until 19 December 2023 (seed 000).
    assert [i["model_version"] for i in items[:2]] == ["2021.1", "2023.1"]
    assert items[1]["previous_segment"]["code"] == 4 and items[1]["changed"] is True
    records = exported(client, auth)
    imported = {
        r["assessment_id"]: r for r in records if r["assessment_id"] != live.json()["assessment_id"]
    }
    assert {r["segment_code"] for r in imported.values()} == {3, 4}


def test_an_entry_from_before_the_current_model_is_decided_under_the_earlier_version(
    client: TestClient, auth: Auth
) -> None:
    response = post_import(client, auth, ndjson(entry(effective_at="2022-05-02T08:00:00Z")))

    assert response.status_code == 200, response.text
    client_id = client_id_of(client, auth, PERSON)
    assert client_id
    [item] = history(client, auth, client_id)
    assert item["model_version"] == "2021.1"


def test_importing_the_same_lines_again_changes_nothing(client: TestClient, auth: Auth) -> None:
    body = ndjson(entry(), entry(OTHER, segment_code=2))
    assert post_import(client, auth, body).json()["imported"] == 2
    client_id = client_id_of(client, auth, PERSON)
    assert client_id
    before = (
        history(client, auth, client_id),
        client.get(f"/v1/clients/{client_id}/consents", headers=auth()).json(),
        client.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()["items"],
    )

    again = post_import(client, auth, body)

    assert again.status_code == 200, again.text
    assert again.json() == {"imported": 0, "lines": 2}
    after = (
        history(client, auth, client_id),
        client.get(f"/v1/clients/{client_id}/consents", headers=auth()).json(),
        client.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()["items"],
    )
    # Reading is logged (the reads above); the repeated import adds nothing.
    assert after[0] == before[0] and after[1] == before[1]
    new_log_lines = [line for line in after[2] if line not in before[2]]
    assert "import_segments" not in {line["operation"] for line in new_log_lines}
    assert [line["operation"] for line in before[2]].count("import_segments") == 1


def test_a_line_repeated_in_one_file_is_written_once(client: TestClient, auth: Auth) -> None:
    later = "2024-03-01T10:00:00+02:00"
    response = post_import(
        client, auth, ndjson(entry(), entry(), entry(segment_code=2, effective_at=later))
    )

    assert response.json() == {"imported": 2, "lines": 3}


def test_two_different_decisions_of_a_client_at_one_moment_are_refused(
    client: TestClient, auth: Auth
) -> None:
    within = post_import(client, auth, ndjson(entry(), entry(OTHER), entry(segment_code=2)))
    assert within.status_code == 422, within.text
    assert [e["field"] for e in within.json()["errors"]] == ["lines[3].effective_at"]
    assert client_id_of(client, auth, PERSON) is None  # nothing was written

    assert post_import(client, auth, ndjson(entry())).json()["imported"] == 1
    corrected = post_import(client, auth, ndjson(entry(OTHER), entry(recorded_by="someone else")))
    assert corrected.status_code == 422, corrected.text  # a second decision at that moment
    assert [e["field"] for e in corrected.json()["errors"]] == ["lines[2].effective_at"]
    assert len(history(client, auth, client_id_of(client, auth, PERSON))) == 1  # type: ignore[arg-type]


def test_any_bad_line_is_a_422_naming_each_line_and_field_and_nothing_is_written(
    client: TestClient, auth: Auth
) -> None:
    body = ndjson(
        entry(),
        entry(OTHER, segment_code=7),
        "{not json",
        entry(effective_at="2999-01-01T00:00:00Z"),
        entry(model="no-such-model"),
        entry(client={"hetu": "131052-308A"}),
        {key: value for key, value in entry().items() if key != "recorded_by"},
    )

    response = post_import(client, auth, body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {error["field"] for error in response.json()["errors"]}
    assert {
        "lines[2].segment_code",
        "lines[3]",
        "lines[4].effective_at",
        "lines[5].model",
        "lines[7].recorded_by",
    } <= fields
    assert any(field.startswith("lines[6].client") for field in fields)
    assert not any(field.startswith("lines[1]") for field in fields)
    assert "131052-308A" not in response.text
    assert client_id_of(client, auth, PERSON) is None
    assert client_id_of(client, auth, OTHER) is None
    assert exported(client, auth) == []


def test_blank_lines_are_skipped_and_counted_in_the_line_numbers(
    client: TestClient, auth: Auth
) -> None:
    body = b"\n" + ndjson(entry()) + b"   \n" + ndjson(entry(segment_code=9))

    response = post_import(client, auth, body)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["lines[4].segment_code"]


def test_an_over_long_line_is_named_and_not_held(client: TestClient, auth: Auth) -> None:
    long_line = json.dumps(entry(recorded_by="x" * 200_000))
    response = post_import(client, auth, ndjson(entry(), long_line, entry(OTHER)))

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["lines[2]"]


def test_a_client_without_consent_is_imported_but_not_exported(
    client: TestClient, auth: Auth
) -> None:
    body = ndjson(
        entry(consent={"health_register": False}),
        entry(OTHER, consent=None),
    )

    assert post_import(client, auth, body).json()["imported"] == 2
    assert exported(client, auth) == []
    client_id = client_id_of(client, auth, PERSON)
    assert client_id
    consents = client.get(f"/v1/clients/{client_id}/consents", headers=auth()).json()["items"]
    assert [(c["given"], c["source"]) for c in consents] == [(False, "import")]


def test_vantaa_kerava_register_numbers_map_to_its_segments(client: TestClient, auth: Auth) -> None:
    body = ndjson(entry(model="vantaa-kerava-2021", segment_code=4))

    response = post_import(client, auth, body, org="vantaa-kerava")

    assert response.status_code == 200, response.text
    client_id = client_id_of(client, auth, PERSON, org="vantaa-kerava")
    assert client_id
    [item] = history(client, auth, client_id, org="vantaa-kerava")
    assert item["segment"]["key"] == "care"
    [record] = exported(client, auth, org="vantaa-kerava")
    assert record["segment_code"] == 4 and record["segment_key"] == "care"


def test_a_model_without_register_numbering_takes_its_own_codes(
    client: TestClient, auth: Auth
) -> None:
    body = ndjson(entry(model="kymenlaakso-2017", segment_code=3), entry(OTHER, segment_code=4))
    refused = post_import(client, auth, body, org="kymenlaakso")
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["lines[2].model"]

    body = ndjson(entry(model="kymenlaakso-2017", segment_code=3))
    assert post_import(client, auth, body, org="kymenlaakso").json()["imported"] == 1
    client_id = client_id_of(client, auth, PERSON, org="kymenlaakso")
    assert client_id
    [item] = history(client, auth, client_id, org="kymenlaakso")
    assert item["segment"]["key"] == "C"
    assert exported(client, auth, org="kymenlaakso") == []


def test_imports_stay_in_their_tenant(client: TestClient, auth: Auth) -> None:
    assert post_import(client, auth, ndjson(entry())).status_code == 200

    assert client_id_of(client, auth, PERSON, org="vantaa-kerava") is None


def test_importing_needs_its_scope(client: TestClient, auth: Auth) -> None:
    headers = {**auth(scopes=["assessments:write", "segments:read"]), **NDJSON}

    response = client.post(IMPORT, content=ndjson(entry()), headers=headers)

    assert response.status_code == 403
    assert "imports:write" in response.json()["detail"]
    assert client_id_of(client, auth, PERSON) is None


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_the_body_must_be_ndjson(client: TestClient, auth: Auth, content_type: str | None) -> None:
    headers = auth() | ({"Content-Type": content_type} if content_type else {})

    response = client.post(IMPORT, content=ndjson(entry()), headers=headers)

    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
def small_limits(committed_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """Imports may be far larger than any other body: each has a limit of its own."""
    settings = make_settings(
        tmp_path, database_url=committed_url, max_body_bytes=2048, max_import_bytes=8192
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_import_has_its_own_body_limit(small_limits: TestClient, auth: Auth) -> None:
    people = [hetu(f"{day:02d}0580", "-", 200 + day) for day in range(1, 29)]
    within = ndjson(*(entry(person) for person in people[:20]))
    beyond = ndjson(*(entry(person) for person in people)) * 2
    assert 2048 < len(within) <= 8192 < len(beyond)

    accepted = post_import(small_limits, auth, within)
    refused = post_import(small_limits, auth, beyond)

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["imported"] == 20
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client_id_of(small_limits, auth, people[-1]) is None
    big_assessment = helsinki_assessment(client={"hetu": PERSON}, reason="x" * 3000)
    assert (
        small_limits.post("/v1/assessments", json=big_assessment, headers=auth()).status_code == 413
    )


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of three lines, staged two at a time: a file of a few lines crosses several."""
    monkeypatch.setattr(import_service, "CHUNK", 3)
    monkeypatch.setattr(import_service, "BATCH", 2)


@pytest.mark.usefixtures("small_chunks")
def test_a_file_written_in_chunks_is_one_import(
    client: TestClient, auth: Auth, committed_url: str
) -> None:
    days = [f"2024-0{month}-01T09:00:00Z" for month in range(1, 8)]
    body = ndjson(
        *(entry(effective_at=day, segment_code=1 + i % 4) for i, day in enumerate(days)),
        entry(effective_at=days[0], segment_code=1),  # the first line again, in a later chunk
        entry(OTHER),
    )

    response = post_import(client, auth, body)

    assert response.json() == {"imported": 8, "lines": 9}
    client_id = client_id_of(client, auth, PERSON)
    assert client_id
    items = history(client, auth, client_id)
    assert [i["effective_at"][:10] for i in items] == [day[:10] for day in days]
    log = client.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()["items"]
    assert [line["operation"] for line in log].count("import_segments") == 1
    # The later chunks found the client known and replaced its spans: one per decision, each
    # until the next took effect.
    engine = create_sync_engine(committed_url)
    try:
        with engine.connect() as connection:
            spans = connection.execute(
                sa.select(segment_span.c.valid_from, segment_span.c.valid_to)
                .where(segment_span.c.client_id == uuid.UUID(client_id))
                .order_by(segment_span.c.valid_from)
            ).all()
            numbers = connection.execute(
                sa.select(assessment.c.sequence, assessment.c.effective_at)
                .where(assessment.c.client_id == uuid.UUID(client_id))
                .order_by(assessment.c.sequence)
            ).all()
    finally:
        engine.dispose()
    assert [f.isoformat()[:10] for f, _ in spans] == [day[:10] for day in days]
    assert [t for _, t in spans] == [*[f for f, _ in spans][1:], None]
    segment = client.get(f"/v1/clients/{client_id}/segment", headers=auth()).json()
    assert segment["code"] == 1 + (len(days) - 1) % 4  # the latest decision's
    # Each chunk numbered the client's decisions on from the last: no gap, no repeat.
    assert [n for n, _ in numbers] == list(range(1, len(days) + 1))
    assert [e.isoformat()[:10] for _, e in numbers] == [day[:10] for day in days]


@pytest.mark.usefixtures("small_chunks")
def test_a_bad_line_after_chunks_were_written_still_writes_nothing(
    client: TestClient, auth: Auth
) -> None:
    days = [f"2024-0{month}-01T09:00:00Z" for month in range(1, 8)]
    body = ndjson(*(entry(effective_at=day) for day in days), entry(OTHER, segment_code=0))

    response = post_import(client, auth, body)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["lines[8].segment_code"]
    assert client_id_of(client, auth, PERSON) is None


@pytest.mark.parametrize(
    "recorded_by",
    ['=HYPERLINK("http://evil","x")', "+1", "-1+1", "@SUM(A1)", "a,b\nc", "tab\there"],
)
def test_a_recorder_a_spreadsheet_would_run_or_split_is_refused(
    client: TestClient, auth: Auth, recorded_by: str
) -> None:
    response = post_import(client, auth, ndjson(entry(recorded_by=recorded_by)))

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["lines[1].recorded_by"]


def import_while_another_holds_the_client(
    client: TestClient, auth: Auth, url: str, line: dict[str, Any], its_segment: int
) -> Any:
    """Send an import of `line` while another import of the same client (simulated on a
    connection of its own) has written a decision of segment `its_segment` at the line's
    moment and not yet committed; commit it once the import is seen to wait. The answer."""
    engine = create_sync_engine(url)
    answers: list[Any] = []
    second = threading.Thread(
        target=lambda: answers.append(post_import(client, auth, ndjson(line)))
    )
    try:
        with engine.connect() as first:
            first.execute(sa.text("SELECT id FROM client FOR UPDATE"))
            first.execute(
                sa.text(
                    "INSERT INTO assessment (id, tenant, client_id, sequence, model_id, "
                    "model_version, answers, details, decided_code, explanation, warnings, "
                    "effective_at, recorded_at, recorded_by, source, change_tx) "
                    "SELECT gen_random_uuid(), tenant, client_id, sequence + 1, model_id, "
                    "model_version, answers, details, :segment, explanation, warnings, "
                    ":moment, recorded_at, recorded_by, source, change_tx FROM assessment"
                ),
                {"moment": line["effective_at"], "segment": its_segment},
            )
            first.execute(sa.text("UPDATE client SET last_sequence = last_sequence + 1"))
            second.start()
            second.join(timeout=1.5)
            assert second.is_alive(), "the import did not wait for the client's row"
            first.commit()
        second.join(timeout=30)
    finally:
        second.join(timeout=30)
        engine.dispose()
    return answers[0]


MOMENT = "2024-08-08T06:00:00Z"


def test_a_clash_committed_while_the_import_waited_for_the_client_is_refused(
    backend: str, client: TestClient, auth: Auth, committed_url: str
) -> None:
    """Two imports at once, both bringing a decision of one client at one moment: the second
    waits for the client's row, and looks for clashes only then — when the first has
    committed its decision — instead of before, when it could not yet see it."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: imports cannot interleave")
    assert post_import(client, auth, ndjson(entry())).status_code == 200
    line = entry(segment_code=2, effective_at=MOMENT)
    answer = import_while_another_holds_the_client(client, auth, committed_url, line, 4)

    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["lines[1].effective_at"]


def test_the_same_file_sent_twice_at_once_is_imported_once(
    backend: str, client: TestClient, auth: Auth, committed_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: imports cannot interleave")
    assert post_import(client, auth, ndjson(entry())).status_code == 200
    line = entry(segment_code=2, effective_at=MOMENT)
    answer = import_while_another_holds_the_client(client, auth, committed_url, line, 2)

    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 0


def test_imports_meeting_clients_in_opposite_orders_are_told_to_send_again(
    backend: str,
    client: TestClient,
    auth: Auth,
    committed_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each chunk locks its known clients; an import meeting Y then X (in two chunks) while
    another holds X and then asks for Y is a deadlock the database breaks by failing one:
    a 409 that says to send again, not a 500."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: imports cannot interleave")
    x, y = PERSON, OTHER
    assert post_import(client, auth, ndjson(entry(x), entry(y))).status_code == 200
    monkeypatch.setattr(import_service, "BATCH", 1)
    monkeypatch.setattr(import_service, "CHUNK", 1)
    engine = create_sync_engine(committed_url)
    answers: list[Any] = []
    later = {"effective_at": "2025-01-01T00:00:00Z", "consent": None}
    importing = threading.Thread(
        target=lambda: answers.append(
            post_import(client, auth, ndjson(entry(y, **later), entry(x, **later)))
        )
    )
    ids = {p: client_id_of(client, auth, p) for p in (x, y)}
    try:
        with engine.connect() as other:
            lock = "SELECT id FROM client WHERE id = :id FOR UPDATE"
            other.execute(sa.text(lock), {"id": ids[x]})
            importing.start()
            importing.join(timeout=0.5)  # it has locked Y and waits for X
            assert importing.is_alive()
            other.execute(sa.text(lock), {"id": ids[y]})  # the database fails the import
            other.commit()
        importing.join(timeout=30)
    finally:
        importing.join(timeout=30)
        engine.dispose()

    assert answers[0].status_code == 409, answers[0].text
    assert "Send it again" in answers[0].json()["detail"]
    retried = post_import(client, auth, ndjson(entry(y, **later), entry(x, **later)))
    assert retried.json() == {"imported": 2, "lines": 2}
