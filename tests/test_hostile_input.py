"""A careless or hostile client: odd Unicode, bodies that are not I-JSON, lax types, identity
codes where they do not belong, checks in the wrong order, paths echoed back.

Every refusal is a problem+json naming the field, quotes nothing that was sent, and leaves
every table exactly as it was — on SQLite and on PostgreSQL.
"""

import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

from app.auth import mint_token
from tests.conftest import JWT_SECRET, Auth, TestDatabase
from tests.helpers import helsinki_assessment, hetu

CODE = "131052-308T"
OTHER = hetu("240377", "-", 456)
ALL_SCOPES = "assessments:write segments:read consents:write audit:read"


def snapshot(database: TestDatabase) -> dict[str, list[str]]:
    """Every row of every table."""
    return {
        table.name: sorted(repr(tuple(row)) for row in database.rows(f"SELECT * FROM {table.name}"))
        for table in SQLModel.metadata.sorted_tables
    }


def refused(
    client: TestClient,
    database: TestDatabase,
    method: str,
    path: str,
    *,
    status: int,
    field: str | None = None,
    secret: str = CODE,
    **request: Any,
) -> dict[str, Any]:
    """Send a request that must be refused; check how, and that it changed nothing."""
    before = snapshot(database)
    response = client.request(method, path, **request)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert secret[:6] not in response.text and secret not in str(response.headers)
    if field is not None:
        assert field in [e["field"] for e in response.json().get("errors", [])], response.text
    assert snapshot(database) == before
    problem: dict[str, Any] = response.json()
    return problem


def body_of(**fields: Any) -> bytes:
    return json.dumps(helsinki_assessment(**fields)).encode()


JSON = {"Content-Type": "application/json"}


# --- one person, one client -------------------------------------------------------------------


@pytest.mark.parametrize(
    "identity",
    [
        {"hetu": "１３１０５２-３０８Ｔ"},
        {"hetu": "131052-308t"},
        {"hetu": " 131052\u2010308T "},
        {"external_id": {"system": "urn:oid:1.2.246.21", "value": CODE}},
        {"external_id": {"system": "URN:OID:1.2.246.21", "value": "１３１０５２-308T"}},
    ],
    ids=["full-width", "lower case", "spaces and a hyphen", "FHIR system", "FHIR, full-width"],
)
def test_every_way_of_sending_one_persons_code_is_one_client(
    client: TestClient, auth: Auth, database: TestDatabase, identity: dict[str, Any]
) -> None:
    first = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
    again = client.post(
        "/v1/assessments", json=helsinki_assessment(client=identity), headers=auth()
    )
    assert again.status_code == 201, again.text
    assert again.json()["client_id"] == first.json()["client_id"]
    assert database.count("client") == 1
    stored = "\n".join(str(row) for row in database.rows("SELECT * FROM client"))
    assert "131052" not in stored and "１３１０５２" not in stored


@pytest.mark.parametrize(
    "typed",
    [
        "ＰＴ-１００１",
        "PT-1001\u200b",
        "PT\u20101001",
        "P\u202eT-1001",
        "PT-\u0661\u0660\u0660\u0661",
    ],
    ids=["full-width", "zero-width space", "hyphen", "bidi override", "Arabic-Indic digits"],
)
def test_every_way_of_typing_an_external_id_is_one_client(
    client: TestClient, auth: Auth, database: TestDatabase, typed: str
) -> None:
    system = "urn:oid:1.2.246.10.1"
    plain = helsinki_assessment(client={"external_id": {"system": system, "value": "PT-1001"}})
    odd = helsinki_assessment(client={"external_id": {"system": system, "value": typed}})
    first = client.post("/v1/assessments", json=plain, headers=auth())
    again = client.post("/v1/assessments", json=odd, headers=auth())
    assert again.status_code == 201, again.text
    assert again.json()["client_id"] == first.json()["client_id"]


def test_a_fhir_identity_code_that_is_not_valid_is_refused_at_its_place(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    identity = {"external_id": {"system": "urn:oid:1.2.246.21", "value": "131052-308U"}}
    refused(
        client, database, "POST", "/v1/assessments", status=422, field="client.external_id",
        secret="131052-308U", json=helsinki_assessment(client=identity), headers=auth(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("identity", "field"),
    [
        ({"external_id": {"system": "urn:apotti:mrn", "value": CODE}}, "client.external_id"),
        ({"external_id": {"system": f"urn:x:{CODE}", "value": "1"}}, "client.external_id.system"),
        ({"external_id": {"system": "urn:x", "value": " 42"}}, "client.external_id"),
        ({"hetu": "131052-308T\u0301"}, "client.hetu"),
    ],
    ids=["code as an external id", "code in the system", "padded", "accent"],
)
def test_identities_that_hide_a_code_or_a_second_person_are_refused(
    client: TestClient, auth: Auth, database: TestDatabase, identity: dict[str, Any], field: str
) -> None:
    refused(
        client, database, "POST", "/v1/assessments", status=422, field=field,
        json=helsinki_assessment(client=identity), headers=auth(),
    )  # fmt: skip


# --- identity codes where they do not belong ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            helsinki_assessment(decided_segment=2, override_reason=f"as {CODE} said"),
            "override_reason",
        ),
        (helsinki_assessment(details={"note": f"hetu {CODE}"}), "details"),
        (helsinki_assessment(details={CODE: "x"}), "details"),
        (helsinki_assessment(details={"list": [{"deep": f"{CODE}"}]}), "details"),
        (helsinki_assessment(details={"note": "ok\x07"}), "details"),
    ],
    ids=["override reason", "details value", "details key", "details, nested", "control"],
)
def test_free_text_that_would_store_a_code_is_refused(
    client: TestClient, auth: Auth, database: TestDatabase, body: dict[str, Any], field: str
) -> None:
    refused(client, database, "POST", "/v1/assessments", status=422, field=field, json=body,
            headers=auth())  # fmt: skip


def test_a_retraction_reason_with_a_code_is_refused(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    refused(
        client, database, "POST", f"/v1/assessments/{created['assessment_id']}/retraction",
        status=422, field="reason", json={"reason": f"wrong person, was {OTHER}"}, secret=OTHER,
        headers=auth(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"X-Purpose": f"care of {CODE}"}, "X-Purpose"),
        ({"X-Purpose": "care\x01"}, "X-Purpose"),
        ({"X-Purpose": "x" * 201}, "X-Purpose"),
        ({"Idempotency-Key": CODE}, "Idempotency-Key"),
        ({"Idempotency-Key": "key with spaces"}, "Idempotency-Key"),
    ],
    ids=["code in the purpose", "control in the purpose", "long purpose", "code as key", "spaces"],
)
def test_headers_that_would_be_stored_are_checked_like_text(
    client: TestClient, auth: Auth, database: TestDatabase, headers: dict[str, str], field: str
) -> None:
    refused(
        client, database, "POST", "/v1/assessments", status=422, field=field,
        json=helsinki_assessment(), headers=auth(**headers),
    )  # fmt: skip


def test_a_purpose_in_finnish_is_kept_as_written(client: TestClient, auth: Auth) -> None:
    purpose = "hoidon järjestäminen"
    headers: dict[str, str | bytes] = {**auth(), "X-Purpose": purpose.encode()}
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=headers)
    log = client.get(f"/v1/clients/{created.json()['client_id']}/access-log", headers=auth())
    assert log.json()["items"][0]["purpose"] == purpose


def test_a_token_whose_subject_is_an_identity_code_is_refused(
    client: TestClient, database: TestDatabase
) -> None:
    token = mint_token(JWT_SECRET, sub=CODE, org="helsinki", scopes=["assessments:write"])
    refused(
        client, database, "POST", "/v1/assessments", status=401,
        json=helsinki_assessment(), headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip


# --- I-JSON -------------------------------------------------------------------------------------

NOT_I_JSON = [
    b'{"client": {"hetu": "131052-308T"}, "client": {"hetu": "240377-456P"}, "answers": {}}',
    b'{"client": {"hetu": "131052-308T"}, "answers": {"coping": "easy", "coping": "difficult"}}',
    body_of(details={"x": 1}).replace(b'"x": 1', b'"x": "\\ud800"'),
    body_of(details={"x": 1}).replace(b'"x": 1', b'"x": "a\\udfffb"'),
    body_of(details={"x": 1}).replace(b'"x": 1', b'"x": 1e400'),
    body_of(details={"x": 1}).replace(b'"x": 1', b'"x": -1e309'),
    body_of(details={"x": 1}).replace(b'"x": 1', b'"x": 9007199254740993'),
    body_of(details={"x": 1}).replace(b'"x": 1', b'"x": ' + b"9" * 5000),
    body_of(details={"x": 1}).replace(b'"x": 1', b'"x": ' + b"[" * 300 + b"]" * 300),
    body_of(details={"x": 1}).replace(b'"x": 1', b'"x": ' + b"[" * 100_000 + b"]" * 100_000),
    body_of(details={"x": 1}).replace(b'"x": 1', b'"x": NaN'),
    b"\xef\xbb\xbf" + body_of(),
    body_of().decode().encode("utf-16"),
    body_of().replace(b"easy", b"\xff\xfe"),
]


@pytest.mark.parametrize(
    "raw",
    NOT_I_JSON,
    ids=[
        "duplicate member", "duplicate answer", "lone high surrogate", "lone low surrogate",
        "1e400", "-1e309", "beyond 2^53", "5000 digits", "300 deep", "100000 deep", "NaN",
        "BOM", "UTF-16", "not UTF-8",
    ],
)  # fmt: skip
def test_what_is_not_i_json_is_a_400_and_writes_nothing(
    client: TestClient, auth: Auth, database: TestDatabase, raw: bytes
) -> None:
    refused(client, database, "POST", "/v1/assessments", status=400, content=raw,
            headers=auth(**JSON))  # fmt: skip
    key = auth(**JSON, **{"Idempotency-Key": "i-json"})
    refused(client, database, "POST", "/v1/assessments", status=400, content=raw, headers=key)


@pytest.mark.parametrize(
    "details",
    [
        {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
        {"note": "x" * 17_000},
    ],
    ids=["nine levels", "17 kB"],
)
def test_free_form_details_are_bounded(
    client: TestClient, auth: Auth, database: TestDatabase, details: dict[str, Any]
) -> None:
    refused(client, database, "POST", "/v1/assessments", status=422, field="details",
            json=helsinki_assessment(details=details), headers=auth())  # fmt: skip


def test_details_a_few_hundred_levels_deep_leave_the_client_readable(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    deep: Any = "bottom"
    for _ in range(400):
        deep = {"d": deep}
    refused(client, database, "POST", "/v1/assessments", status=400,
            content=body_of(details={"x": 1}).replace(b'{"x": 1}', json.dumps(deep).encode()),
            headers=auth(**JSON))  # fmt: skip
    segment = client.get(f"/v1/clients/{created['client_id']}/segment", headers=auth())
    assert segment.status_code == 200


# --- strict types -------------------------------------------------------------------------------


def consent(**fields: Any) -> dict[str, Any]:
    return {"register": "health", "given": True, **fields}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("consents", consent(given="true"), "given"),
        ("consents", consent(given=1), "given"),
        ("consents", consent(register="Health"), "register"),
        ("consents", consent(at=1732000000), "at"),
        ("consents", consent(at="2026-01-01 10:00:00+02:00"), "at"),
        ("consents", consent(at="2026-01-01T10:00:00"), "at"),
        ("consents", consent(at="2026-02-30T10:00:00Z"), "at"),
        ("consents", consent(at="20260101T100000Z"), "at"),
        ("assessments", helsinki_assessment(decided_segment="3"), "decided_segment"),
        ("assessments", helsinki_assessment(decided_segment=3.0), "decided_segment"),
        ("assessments", helsinki_assessment(coping="Easy"), "answers.coping"),
        (
            "assessments",
            helsinki_assessment(consent={"health_register": "yes"}),
            "consent.health_register",
        ),
        ("assessments", helsinki_assessment(client={"hetu": 1310523088}), "client.hetu"),
    ],
)
def test_types_are_strict_at_the_boundary(
    client: TestClient,
    auth: Auth,
    database: TestDatabase,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    if path == "consents":
        created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
        path = f"/v1/clients/{created.json()['client_id']}/consents"
    else:
        path = "/v1/assessments"
    refused(client, database, "POST", path, status=422, field=field, json=body, headers=auth())


def test_a_moment_in_the_query_is_rfc_3339_too(client: TestClient, auth: Auth) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    path = f"/v1/clients/{created['client_id']}/segment"
    assert client.get(path, params={"at": "2030-01-01"}, headers=auth()).status_code == 422
    ok = client.get(path, params={"at": "2030-01-01T00:00:00z"}, headers=auth())
    assert ok.status_code == 200


# --- the order of checks, and optional headers --------------------------------------------------


def test_authentication_comes_before_the_body_and_the_headers(
    client: TestClient, auth: Auth, database: TestDatabase
) -> None:
    for headers in ({**JSON}, {**JSON, "X-Purpose": CODE}, {"Content-Type": "text/plain"}):
        refused(client, database, "POST", "/v1/assessments", status=401, content=b"{",
                headers=headers)  # fmt: skip
    reader = auth(scopes=["segments:read"], **JSON, **{"X-Purpose": CODE})
    refused(client, database, "POST", "/v1/assessments", status=403, content=b"{", headers=reader)


def test_scopes_are_separated_by_a_space_and_nothing_else(
    client: TestClient, database: TestDatabase
) -> None:
    token = mint_token(
        JWT_SECRET, sub="x", org="helsinki", scopes=["segments:read\tassessments:write"]
    )
    refused(client, database, "POST", "/v1/assessments", status=403, json=helsinki_assessment(),
            headers={"Authorization": f"Bearer {token}"})  # fmt: skip


@pytest.mark.parametrize(
    "value", ["x" * 5000, "en;q=nan", "sv;q=2, en", ";;;", "*", "fi-FI;q=abc,\x7f"]
)
def test_an_unusable_accept_language_falls_back_to_finnish(
    client: TestClient, auth: Auth, value: str
) -> None:
    response = client.post(
        "/v1/classify",
        json={"answers": {"coping": "easy", "risk_level": "few"}},
        headers=auth(**{"Accept-Language": value}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["suggested_segment"]["name"] in {
        "Omatoimiasiakkuus", "Self-care client", "Egenvårdsklient",
    }  # fmt: skip


# --- paths, media types, methods ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [f"/v1/clients/{CODE}/segment/", "/v1/models/", f"/v1/clients/{CODE}/segment", f"/v1/{CODE}"],
)
def test_nothing_echoes_a_path(client: TestClient, auth: Auth, path: str) -> None:
    response = client.get(path, headers=auth(), follow_redirects=False)
    assert response.status_code in (400, 404, 422)
    assert "location" not in response.headers
    assert response.headers["content-type"] == "application/problem+json"
    assert CODE[:6] not in response.text


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_a_body_that_is_not_json_is_a_415(
    client: TestClient, auth: Auth, database: TestDatabase, content_type: str | None
) -> None:
    headers = auth(**({"Content-Type": content_type} if content_type else {}))
    refused(client, database, "POST", "/v1/assessments", status=415, content=body_of(),
            headers=headers)  # fmt: skip


def test_json_with_its_charset_is_welcome(client: TestClient, auth: Auth) -> None:
    headers = auth(**{"Content-Type": "application/json; charset=UTF-8"})
    assert client.post("/v1/assessments", content=body_of(), headers=headers).status_code == 201


def test_head_is_served_wherever_get_is(client: TestClient, auth: Auth) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    for path in ("/healthz", "/readyz", f"/v1/clients/{created['client_id']}/segment"):
        response = client.head(path, headers=auth())
        assert response.status_code == 200, path
        assert response.content == b""
        assert int(response.headers["content-length"]) > 0


def test_allowed_and_refused_accesses_share_the_operation_name(
    client: TestClient, auth: Auth
) -> None:
    created = client.post("/v1/assessments", json=helsinki_assessment(), headers=auth()).json()
    consents = f"/v1/clients/{created['client_id']}/consents"
    client.get(consents, headers=auth())
    client.get(consents, headers=auth(scopes=["audit:read"]))
    log = client.get(f"/v1/clients/{created['client_id']}/access-log", headers=auth()).json()
    names = {(i["operation"], i["outcome"]) for i in log["items"]}
    assert {("read_consents", "ok"), ("read_consents", "forbidden")} <= names


# --- generated input ----------------------------------------------------------------------------

HYPOTHESIS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
scalars = st.none() | st.booleans() | st.integers() | st.text()
json_values = st.recursive(
    scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)  # fmt: skip


def hostile_text() -> st.SearchStrategy[str]:
    """Any Unicode, and identity codes typed in every way a keyboard or a copy can."""
    codes = st.sampled_from(["131052-308T", "１３１０５２-308T", "131052\u2010308t", "240377-456P"])
    return st.one_of(
        st.text(max_size=40),
        st.builds(lambda a, c, b: f"{a}{c}{b}", st.text(max_size=5), codes, st.text(max_size=5)),
    )


@HYPOTHESIS
@given(value=hostile_text())
def test_any_text_as_an_identity_code_is_one_client_or_refused(
    client: TestClient, auth: Auth, database: TestDatabase, value: str
) -> None:
    before = snapshot(database)
    response = client.post(
        "/v1/assessments", json=helsinki_assessment(client={"hetu": value}), headers=auth()
    )
    assert response.status_code in (201, 400, 422), response.text
    if response.status_code != 201:
        assert snapshot(database) == before
    assert "131052" not in response.text and "240377" not in response.text
    assert database.count("client") <= 2  # only the two people in the strategy


def as_decimals(value: Any) -> Any:
    """JSON numbers compared as the decimals they write: PostgreSQL's jsonb keeps a number's
    decimal value, not whether it was written `2.251799813685243e+16` or `22517998136852430`
    (Python reads the one as a float, the other as an int, and they differ as Python values)."""
    if isinstance(value, dict):
        return {key: as_decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_decimals(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(repr(value))
    return value


@HYPOTHESIS
@given(
    details=st.dictionaries(st.text(max_size=10), json_values, max_size=5), reason=hostile_text()
)
def test_any_details_and_reason_are_stored_as_given_or_refused_whole(
    client: TestClient, auth: Auth, database: TestDatabase, details: dict[str, Any], reason: str
) -> None:
    before = snapshot(database)
    body = helsinki_assessment(details=details, decided_segment=2, override_reason=reason)
    response = client.post("/v1/assessments", json=body, headers=auth())
    assert response.status_code in (201, 400, 422), response.text
    if response.status_code != 201:
        assert response.headers["content-type"] == "application/problem+json"
        assert snapshot(database) == before
        return
    stored = client.get(f"/v1/assessments/{response.json()['assessment_id']}", headers=auth())
    assert as_decimals(stored.json()["details"]) == as_decimals(details)
    assert stored.json()["override_reason"] == reason
