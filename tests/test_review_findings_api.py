"""Edges found in review: bodies PostgreSQL would refuse, far-off dates, keys that could be
identity codes, pinned versions out of force, and attempts that must still be logged."""

import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.auth import SCOPES
from app.idempotency import service as idempotency
from tests.conftest import INDEX_KEY, Auth, Serve, TestDatabase, build_app, make_settings
from tests.helpers import helsinki_assessment, hetu

CODE = hetu("240377", "-", 456)


def rows(database: TestDatabase, table: str) -> int:
    return database.scalar(f"SELECT count(*) FROM {table}")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"client": {"hetu": "131052-308T"}, "answers": {"coping": "easy", "risk_level": "few"},'
        b' "details": {"x": NaN}}',
        b'{"client": {"hetu": "131052-308T"}, "answers": {"coping": "easy", "risk_level": "few"},'
        b' "details": {"x": -Infinity}}',
        b'{"client": {"hetu": "131052-308T"}, "answers": {"coping": "easy", "risk_level": "few"},'
        b' "details": {"note": "a\\u0000b"}}',
        b'{"client": {"external_id": {"system": "urn:x", "value": "a\\u0000b"}},'
        b' "answers": {"coping": "easy", "risk_level": "few"}}',
    ],
    ids=["NaN", "Infinity", "NUL in details", "NUL in an identity"],
)
def test_what_is_not_json_or_not_storable_is_a_400_on_both_databases(
    client: TestClient, auth: Auth, database: TestDatabase, raw: bytes
) -> None:
    response = client.post(
        "/v1/assessments", content=raw, headers=auth(**{"Content-Type": "application/json"})
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert rows(database, "client") == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/classify",
            {
                "answers": {"coping": "easy", "risk_level": "few"},
                "effective_at": "0001-01-01T00:00:00+05:00",
            },
            "effective_at",
        ),
        (
            "consents",
            {"register": "health", "given": True, "at": "0001-01-01T00:00:00+05:00"},
            "at",
        ),
        (
            "consents",
            {"register": "health", "given": True, "at": "9999-12-31T23:00:00-05:00"},
            "at",
        ),
    ],
)
def test_far_off_dates_are_refused_not_overflowed(
    client: TestClient, auth: Auth, path: str, body: dict[str, object], field: str
) -> None:
    if path == "consents":
        created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
        path = f"/v1/clients/{created.json()['client_id']}/consents"
    response = client.post(path, json=body, headers=auth())
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_keys_that_could_be_identity_codes_are_not_repeated(client: TestClient, auth: Auth) -> None:
    unknown_answer = client.post(
        "/v1/classify",
        headers=auth(),
        json={"answers": {"coping": "easy", "risk_level": "few", CODE: "x"}},
    )
    unknown_field = client.post(
        "/v1/clients/lookup", headers=auth(), json={"hetu": "131052-308T", CODE: "x"}
    )
    unknown_model = client.get(f"/v1/models/{CODE}", headers=auth())
    bad_id = client.get(f"/v1/clients/{CODE}/segment", headers=auth())
    for response in (unknown_answer, unknown_field, unknown_model, bad_id):
        assert 400 <= response.status_code < 500
        assert CODE[:6] not in response.text, response.text
    assert "answers.(unnamed key)" in unknown_answer.text


def test_a_pinned_version_must_be_in_force_at_effective_at(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/v1/classify",
        headers=auth(),
        json={
            "answers": {"coping": "easy", "risk_level": "few"},
            "model_version": "2023.1",
            "effective_at": "2020-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "model_version"


def test_a_boolean_is_not_a_segment_code(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/v1/assessments", headers=auth(), json=helsinki_assessment(decided_segment=True)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "decided_segment"


def test_the_idempotency_fingerprint_is_keyed(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    body = helsinki_assessment(client={"hetu": CODE})
    client.post("/v1/assessments", json=body, headers=auth(**{"Idempotency-Key": "k-1"}))
    stored = database.scalar("SELECT fingerprint FROM idempotency_record")
    secret = idempotency.fingerprint_secret(INDEX_KEY)
    assert stored == idempotency.fingerprint(secret, "submit_assessment", {}, body, SCOPES)
    unkeyed = json.dumps(
        ["submit_assessment", [], body, sorted(SCOPES)], sort_keys=True, ensure_ascii=False
    )
    assert stored != hashlib.sha256(unkeyed.encode()).hexdigest()
    assert CODE not in stored


def test_refused_and_replayed_accesses_are_logged(client: TestClient, auth: Auth) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    client_id = created["client_id"]
    forbidden = client.get(
        f"/v1/clients/{client_id}/segment", headers=auth(sub="curious", scopes=["audit:read"])
    )
    assert forbidden.status_code == 403
    consent = {"register": "health", "given": True}
    headers = auth(sub="system", **{"Idempotency-Key": "consent-replay"})
    client.post(f"/v1/clients/{client_id}/consents", json=consent, headers=headers)
    client.post(f"/v1/clients/{client_id}/consents", json=consent, headers=headers)
    items = client.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()["items"]
    outcomes = {(i["actor"], i["operation"], i["outcome"]) for i in items}
    assert ("curious", "read_segment", "forbidden") in outcomes
    assert ("system", "record_consent", "replayed") in outcomes


def test_an_assessment_stays_readable_after_its_model_leaves_the_tenant(
    tmp_path: Path, database: TestDatabase, served: Serve, auth: Auth
) -> None:
    vantaa = auth(org="vantaa-kerava")
    with served(build_app(make_settings(tmp_path), database)) as before:
        created = before.post("/v1/assessments", json=helsinki_assessment(), headers=vantaa).json()
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(
        '[tenants.vantaa-kerava]\ndefault_model = "vantaa-kerava-2021"\n'
        'models = ["vantaa-kerava-2021"]\n',
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, tenants_file=tenants)
    with served(build_app(settings, database)) as after:
        read = after.get(f"/v1/assessments/{created['assessment_id']}", headers=vantaa)
        segment = after.get(f"/v1/clients/{created['client_id']}/segment", headers=vantaa)
        refused = after.post("/v1/assessments", json=helsinki_assessment(), headers=vantaa)
    assert read.status_code == 200 and read.json()["model"] == "helsinki-2023"
    assert segment.status_code == 200
    assert refused.status_code == 422


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/models/helsinki-2023?version=", "version"),
        ("/v1/analytics/segment-distribution?model=", "model"),
        ("/v1/analytics/transitions?model=", "model"),
    ],
)
def test_an_empty_filter_is_refused_naming_it_not_taken_for_the_default(
    client: TestClient, auth: Auth, url: str, field: str
) -> None:
    response = client.get(url, headers=auth())
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
