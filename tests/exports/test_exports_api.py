"""Export to the health register: formats, the consent rule, the roll-out scope, cursors,
FHIR R4 resources and the disclosure log — over HTTP, on both databases."""

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.observation import Observation

from app.auth import SCOPES
from app.exports import cursor
from tests.conftest import Auth
from tests.helpers import helsinki_assessment, hetu

HEADER = (
    "client_id,hetu,segment_code,segment_key,effective_at,recorded_at,recorded_by,model,"
    "model_version,assessment_id,status"
)
ADULT = hetu("010180", "-", 222)
OTHER_ADULT = hetu("020275", "-", 333)
NO_IDENTITY = [s for s in SCOPES if s != "identity:read"]


def submit(
    client: TestClient,
    auth: Auth,
    person: str = ADULT,
    *,
    consent: bool | None = True,
    org: str = "helsinki",
    **fields: Any,
) -> dict[str, Any]:
    body = helsinki_assessment(client={"hetu": person}, **fields)
    if consent is not None:
        body["consent"] = {"health_register": consent}
    if org == "vantaa-kerava":
        body["model"] = "vantaa-kerava-2021"
        body["answers"] = {"coping": "easy", "service_need": "high"}
    response = client.post("/v1/assessments", json=body, headers=auth(org=org))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def set_consent(client: TestClient, auth: Auth, client_id: str, given: bool, **at: str) -> None:
    response = client.post(
        f"/v1/clients/{client_id}/consents",
        json={"register": "health", "given": given, **at},
        headers=auth(),
    )
    assert response.status_code == 201, response.text


def export(
    client: TestClient, headers: dict[str, str], fmt: str = "ndjson", since: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    params = {"format": fmt, **({"since": since} if since else {})}
    response = client.get("/v1/exports/segments", params=params, headers=headers)
    assert response.status_code == 200, response.text
    if fmt == "csv":
        records = list(csv.DictReader(io.StringIO(response.text)))
    else:
        records = [json.loads(line) for line in response.text.splitlines() if line]
    return records, response.headers["Next-Cursor"]


def statuses(records: list[dict[str, Any]]) -> dict[str, str]:
    return {r["assessment_id"]: r["status"] for r in records}


def test_the_csv_has_the_contracts_header_and_one_row_per_decision(
    client: TestClient, auth: Auth
) -> None:
    first = submit(client, auth, coping="easy", risk_level="many")
    second = submit(client, auth, coping="difficult", risk_level="many")
    response = client.get("/v1/exports/segments?format=csv", headers=auth())
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.splitlines()[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["assessment_id"] for r in rows} == {first["assessment_id"], second["assessment_id"]}
    row = next(r for r in rows if r["assessment_id"] == second["assessment_id"])
    assert (row["segment_code"], row["segment_key"], row["status"]) == ("4", "care", "active")
    assert (row["hetu"], row["model"], row["model_version"]) == (ADULT, "helsinki-2023", "2023.1")
    assert row["effective_at"].endswith("Z") and row["recorded_by"] == "nurse@helsinki.example"


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "fhir"])
def test_identity_codes_only_with_identity_read(client: TestClient, auth: Auth, fmt: str) -> None:
    submit(client, auth)
    with_code = client.get(f"/v1/exports/segments?format={fmt}", headers=auth()).text
    without = client.get(f"/v1/exports/segments?format={fmt}", headers=auth(scopes=NO_IDENTITY))
    assert ADULT in with_code
    assert without.status_code == 200 and ADULT not in without.text and "010180" not in without.text


def test_the_database_and_python_write_the_same_records(client: TestClient, auth: Auth) -> None:
    """On PostgreSQL records without identity codes come from COPY, with them from Python."""
    submit(client, auth, override_reason='a "quoted", comma reason', decided_segment=2)
    for fmt in ("csv", "ndjson"):
        plain, _ = export(client, auth(scopes=NO_IDENTITY), fmt)
        coded, _ = export(client, auth(), fmt)
        assert [{**r, "hetu": ""} for r in coded] == [{**r, "hetu": ""} for r in plain] and plain


def test_only_decisions_with_consent_then_and_now_are_exported(
    client: TestClient, auth: Auth
) -> None:
    never = submit(client, auth, OTHER_ADULT, consent=None)
    given = submit(client, auth)
    records, _ = export(client, auth())
    assert set(statuses(records)) == {given["assessment_id"]}
    set_consent(client, auth, given["client_id"], False)
    assert export(client, auth())[0] == []
    set_consent(client, auth, never["client_id"], True)
    # Consent given after the decision took effect does not reach back to it.
    assert export(client, auth())[0] == []


def test_a_decision_is_exportable_again_when_consent_is_given_back(
    client: TestClient, auth: Auth
) -> None:
    created = submit(client, auth, effective_at="2026-01-05T10:00:00+02:00")
    _, start = export(client, auth())
    set_consent(client, auth, created["client_id"], False)
    withdrawn, after_withdrawal = export(client, auth(), since=start)
    assert statuses(withdrawn) == {created["assessment_id"]: "withdrawn"}
    set_consent(client, auth, created["client_id"], True)
    again, _ = export(client, auth(), since=after_withdrawal)
    assert statuses(again) == {created["assessment_id"]: "active"}
    assert statuses(export(client, auth())[0]) == {created["assessment_id"]: "active"}


def test_retracted_decisions_leave_the_export_and_the_feed_says_so(
    client: TestClient, auth: Auth
) -> None:
    kept = submit(client, auth)
    wrong = submit(client, auth, OTHER_ADULT)
    _, start = export(client, auth())
    retraction = f"/v1/assessments/{wrong['assessment_id']}/retraction"
    assert client.post(retraction, json={"reason": "wrong person"}, headers=auth()).is_success
    changes, _ = export(client, auth(), since=start)
    assert statuses(changes) == {wrong["assessment_id"]: "retracted"}
    assert set(statuses(export(client, auth())[0])) == {kept["assessment_id"]}


def test_consecutive_pulls_neither_miss_nor_repeat(client: TestClient, auth: Auth) -> None:
    first = submit(client, auth)
    records, one = export(client, auth())
    assert set(statuses(records)) == {first["assessment_id"]}
    assert export(client, auth(), since=one)[0] == []
    second = submit(client, auth, OTHER_ADULT)
    changes, two = export(client, auth(), since=one)
    assert statuses(changes) == {second["assessment_id"]: "active"}
    assert export(client, auth(), since=two)[0] == []


def test_models_without_register_numbering_are_never_exported(
    client: TestClient, auth: Auth
) -> None:
    body = {
        "client": {"hetu": ADULT},
        "answers": {
            "planned_contacts": 1,
            "unplanned_contacts": 5,
            "unplanned_contacts_previous": 0,
            "regular_services": False,
        },
        "consent": {"health_register": True},
    }
    assert client.post("/v1/assessments", json=body, headers=auth(org="kymenlaakso")).is_success
    assert export(client, auth(org="kymenlaakso"))[0] == []


def test_helsinki_exports_adults_only_and_no_one_of_unknown_age(
    client: TestClient, auth: Auth
) -> None:
    adult = submit(client, auth)
    submit(client, auth, hetu("010110", "A", 444))  # born 2010
    external = helsinki_assessment(client={"external_id": {"system": "urn:x", "value": "7"}})
    external["consent"] = {"health_register": True}
    assert client.post("/v1/assessments", json=external, headers=auth()).is_success
    assert set(statuses(export(client, auth())[0])) == {adult["assessment_id"]}


def test_a_tenant_without_an_age_limit_exports_everyone_with_the_numbering_it_is_given(
    client: TestClient, auth: Auth
) -> None:
    minor = submit(client, auth, hetu("010110", "A", 444), org="vantaa-kerava")
    records, _ = export(client, auth(org="vantaa-kerava"))
    assert [(r["assessment_id"], r["segment_code"], r["model"]) for r in records] == [
        (minor["assessment_id"], 3, "vantaa-kerava-2021")
    ]


def test_a_client_who_comes_of_age_between_pulls_is_in_the_next_one(
    client: TestClient, auth: Auth
) -> None:
    today = date.today()
    birthday = today.replace(year=today.year - 18) if today.strftime("%m%d") != "0229" else None
    if birthday is None:
        pytest.skip("no 18th birthday on 29 February")
    sign = "A" if birthday.year >= 2000 else "-"
    teen = submit(client, auth, hetu(birthday.strftime("%d%m%y"), sign, 555))
    _, now = export(client, auth())
    position = cursor.decode(now, "helsinki", client.app.state.runtime.cursor_keys)  # type: ignore[attr-defined]
    yesterday = cursor.encode(
        cursor.Position("helsinki", position.until_tx, today - timedelta(days=1)),
        client.app.state.runtime.cursor_keys[0],  # type: ignore[attr-defined]
    )
    changes, _ = export(client, auth(), since=yesterday)
    assert statuses(changes) == {teen["assessment_id"]: "active"}


@pytest.mark.parametrize(
    "change",
    [lambda c: c[:-2] + ("A" if c[-2] != "A" else "B") + c[-1], lambda c: "x" + c, lambda _: "."],
    ids=["signature altered", "payload altered", "not a cursor"],
)
def test_a_cursor_that_was_altered_is_a_400_naming_since(
    client: TestClient, auth: Auth, change: Any
) -> None:
    _, good = export(client, auth())
    response = client.get("/v1/exports/segments", params={"since": change(good)}, headers=auth())
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "since"


def test_a_cursor_is_bound_to_its_tenant(client: TestClient, auth: Auth) -> None:
    _, helsinki = export(client, auth())
    response = client.get(
        "/v1/exports/segments", params={"since": helsinki}, headers=auth(org="vantaa-kerava")
    )
    assert response.status_code == 400
    assert "another tenant" in response.json()["detail"]


def test_exports_need_their_scope(client: TestClient, auth: Auth) -> None:
    response = client.get("/v1/exports/segments", headers=auth(scopes=["segments:read"]))
    assert response.status_code == 403


def fhir_lines(client: TestClient, headers: dict[str, str], since: str | None = None) -> list[Any]:
    params = {"format": "fhir", **({"since": since} if since else {})}
    response = client.get("/v1/exports/segments", params=params, headers=headers)
    assert response.headers["content-type"] == "application/fhir+ndjson"
    resources = []
    for line in response.text.splitlines():
        data = json.loads(line)
        model = {"Observation": Observation, "Consent": Consent}[data["resourceType"]]
        resources.append(model.model_validate(data))  # FHIR R4 (R4B) validation
    return resources


def test_fhir_gives_valid_r4_observations_and_consents(client: TestClient, auth: Auth) -> None:
    created = submit(client, auth, coping="easy", risk_level="many")
    observation, consent = fhir_lines(client, auth())
    assert isinstance(observation, Observation) and isinstance(consent, Consent)
    assert observation.id == created["assessment_id"] and observation.status == "final"
    coding = observation.valueCodeableConcept.coding[0]
    assert (coding.code, coding.display) == ("3", "Yhteistyöasiakkuus")
    assert observation.subject.identifier.system == "urn:oid:1.2.246.21"
    assert observation.subject.identifier.value == ADULT
    assert observation.method.coding[0].code == "helsinki-2023|2023.1"
    assert consent.status == "active" and consent.provision.type == "permit"
    plain = fhir_lines(client, auth(scopes=NO_IDENTITY))
    assert all(
        r.model_dump(mode="json").get("subject", {}).get("identifier") is None for r in plain
    )


def test_fhir_tells_retractions_and_withdrawals(client: TestClient, auth: Auth) -> None:
    wrong = submit(client, auth)
    withdrawn = submit(client, auth, OTHER_ADULT)
    _, start = export(client, auth())
    retraction = f"/v1/assessments/{wrong['assessment_id']}/retraction"
    client.post(retraction, json={"reason": "entered in error"}, headers=auth())
    set_consent(client, auth, withdrawn["client_id"], False)
    resources = fhir_lines(client, auth(), since=start)
    observations = {r.id: r.status for r in resources if isinstance(r, Observation)}
    consents = {r.patient.reference: r.status for r in resources if isinstance(r, Consent)}
    assert observations == {wrong["assessment_id"]: "entered-in-error"}
    assert consents[f"Patient/{withdrawn['client_id']}"] == "inactive"


def test_each_disclosed_clients_access_log_shows_the_export(client: TestClient, auth: Auth) -> None:
    disclosed = submit(client, auth)
    kept_back = submit(client, auth, OTHER_ADULT, consent=None)
    headers = auth(sub="apotti-sync", **{"X-Purpose": "register sync"})
    export(client, headers)

    def exports_in_log(client_id: str) -> list[dict[str, Any]]:
        log = client.get(f"/v1/clients/{client_id}/access-log", headers=auth()).json()
        return [i for i in log["items"] if i["operation"] == "export"]

    [entry] = exports_in_log(disclosed["client_id"])
    assert (entry["actor"], entry["purpose"], entry["outcome"]) == (
        "apotti-sync",
        "register sync",
        "ok",
    )
    assert exports_in_log(kept_back["client_id"]) == []
