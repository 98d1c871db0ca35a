"""Tenants: each county's default model, the models it may use, and its own wording."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.segmentation.registry import load_registry
from app.tenants import TenantsFileError
from tests.conftest import Auth, Serve, TestDatabase, build_app, make_settings

HELSINKI_WORDING = """
[tenants.helsinki]
default_model = "helsinki-2023"
models = ["helsinki-2023"]

[tenants.helsinki.overrides."helsinki-2023"]
versions = ["2023.1"]

[tenants.helsinki.overrides."helsinki-2023".segments.care]
description = { fi = "Helsingin virallinen kuvaus huolenpitoasiakkuudesta." }

[tenants.helsinki.overrides."helsinki-2023".segments.care.implications]
coordination = { en = "Helsinki's own coordination text.", fi = "Helsingin teksti.", sv = "Text." }
"""

VANTAA_CODES = """
[tenants.vantaa-kerava]
default_model = "vantaa-kerava-2021"
models = ["vantaa-kerava-2021"]
export_min_age = 18

[tenants.vantaa-kerava.register_codes.vantaa-kerava-2021]
versions = ["2021.1"]
self_care = 1
support = 2
collaboration = 3
care = 4
note = { fi = "Numerot.", sv = "Numren.", en = "The numbers." }
"""


@pytest.mark.parametrize(
    ("org", "default", "models"),
    [
        ("helsinki", "helsinki-2023", ["helsinki-2023"]),
        ("vantaa-kerava", "vantaa-kerava-2021", ["vantaa-kerava-2021", "helsinki-2023"]),
        ("kymenlaakso", "kymenlaakso-2017", ["kymenlaakso-2017"]),
    ],
)
def test_each_tenant_sees_its_models_and_default(
    client: TestClient, auth: Auth, org: str, default: str, models: list[str]
) -> None:
    listing = client.get("/v1/models", headers=auth(org=org)).json()
    assert listing["default_model"] == default
    assert [m["id"] for m in listing["items"]] == models


def test_the_default_model_classifies_when_none_is_named(client: TestClient, auth: Auth) -> None:
    answers = {"coping": "difficult", "service_need": "high"}
    result = client.post(
        "/v1/classify", json={"answers": answers}, headers=auth(org="vantaa-kerava")
    ).json()
    assert (result["model"], result["suggested_segment"]["code"]) == ("vantaa-kerava-2021", 4)


def test_a_model_the_tenant_may_not_use_is_refused(client: TestClient, auth: Auth) -> None:
    body = {
        "model": "kymenlaakso-2017",
        "answers": {
            "planned_contacts": 1,
            "unplanned_contacts": 0,
            "unplanned_contacts_previous": 0,
            "regular_services": False,
        },
    }
    refused = client.post("/v1/classify", json=body, headers=auth(org="helsinki"))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "model"
    assert (
        client.get("/v1/models/kymenlaakso-2017", headers=auth(org="helsinki")).status_code == 404
    )


@pytest.fixture
def worded(tmp_path: Path, database: TestDatabase, served: Serve) -> Iterator[TestClient]:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(HELSINKI_WORDING, encoding="utf-8")
    settings = make_settings(tmp_path, tenants_file=tenants)
    with served(build_app(settings, database)) as test_client:
        yield test_client


def test_a_county_loads_its_own_wording_without_code(worded: TestClient, auth: Auth) -> None:
    model = worded.get("/v1/models/helsinki-2023", headers=auth()).json()
    care = next(s for s in model["segments"] if s["key"] == "care")
    assert care["description"]["fi"] == "Helsingin virallinen kuvaus huolenpitoasiakkuudesta."
    shipped = load_registry().latest("helsinki-2023")
    assert shipped is not None
    shipped_care = next(s for s in shipped.segments if s.key == "care")
    assert care["description"]["en"] == shipped_care.description["en"]  # only fi was overridden
    coordination = next(i for i in care["implications"] if i["aspect"] == "coordination")
    assert coordination["text"]["en"] == "Helsinki's own coordination text."
    created = worded.post(
        "/v1/assessments",
        headers=auth(),
        json={
            "client": {"hetu": "131052-308T"},
            "answers": {"coping": "difficult", "risk_level": "many"},
        },
    ).json()
    segment = worded.get(f"/v1/clients/{created['client_id']}/segment", headers=auth()).json()
    assert segment["description"] == "Helsingin virallinen kuvaus huolenpitoasiakkuudesta."


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[tenants.helsinki]\ndefault_model = "oulu"\nmodels = ["helsinki-2023"]\n',
            "default_model",
        ),
        ('[tenants.helsinki]\ndefault_model = "oulu"\nmodels = ["oulu"]\n', "unknown model"),
        (
            HELSINKI_WORDING.replace("segments.care]", "segments.carer]").replace(
                "segments.care.implications", "segments.carer.implications"
            ),
            "no segment carer",
        ),
        (HELSINKI_WORDING.replace("coordination =", "telepathy ="), "unknown aspects"),
        ("[tenants.Helsinki]\n", "lower-case"),
        (
            '[tenants.helsinki]\ndefault_model = "helsinki-2023"\nmodels = ["helsinki-2023"]\n'
            '[tenants.helsinki.overrides]\n"helsinki-2023" = "louder"\n',
            "overrides.helsinki-2023: expected a table",
        ),
        (VANTAA_CODES.replace("care = 4", "care = 3"), "share a register code"),
        (VANTAA_CODES.replace('fi = "Numerot."', 'fi = " "'), "non-empty fi, sv, en texts"),
        (VANTAA_CODES.replace("export_min_age = 18", "export_min_age = -18"), "0 to 150"),
    ],
    ids=[
        "default not allowed",
        "unknown model",
        "unknown segment",
        "unknown aspect",
        "bad id",
        "overrides not a table",
        "register code twice",
        "blank register note",
        "negative minimum age",
    ],
)
def test_a_malformed_tenants_file_stops_the_service_at_start(
    tmp_path: Path, text: str, problem: str
) -> None:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(text, encoding="utf-8")
    app = create_app(make_settings(tmp_path, tenants_file=tenants))
    with pytest.raises(TenantsFileError) as raised, TestClient(app):
        pass
    assert str(tenants) in str(raised.value)
    assert problem in str(raised.value)
