"""What a county decides for itself lives in the tenants file, not in the model files: how often
a segment is looked at again, a register numbering for a model without one, and wording that
names the model versions it applies to."""

import tomllib
from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.segmentation.catalog import ModelFileError
from app.segmentation.loader import load_model_file
from app.segmentation.registry import BUILTIN_MODELS_DIR, load_registry
from app.tenants import TenantsFileError
from tests.conftest import ROOT, Auth, Serve, TestDatabase, build_app, make_settings
from tests.helpers import helsinki_assessment, hetu

with (ROOT / "app" / "tenants.toml").open("rb") as _file:
    SHIPPED_TENANTS: dict[str, Any] = tomllib.load(_file)["tenants"]

HELSINKI_WITHOUT_INTERVALS = """
[tenants.helsinki]
default_model = "helsinki-2023"
models = ["helsinki-2023"]
"""

HELSINKI_CARE_IN_30_DAYS = """
[tenants.helsinki]
default_model = "helsinki-2023"
models = ["helsinki-2023"]

[tenants.helsinki.reassess_after_days.helsinki-2023]
self_care = 730
care = 30
"""

VANTAA_KERAVA_WITHOUT_NUMBERING = """
[tenants.vantaa-kerava]
default_model = "vantaa-kerava-2021"
models = ["vantaa-kerava-2021"]
"""


def english(auth: Auth, **claims: Any) -> dict[str, str]:
    return auth(**claims, **{"Accept-Language": "en"})


def with_tenants(
    tmp_path: Path, database: TestDatabase, served: Serve, text: str
) -> ContextManager[TestClient]:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(text, encoding="utf-8")
    settings = make_settings(tmp_path, tenants_file=tenants)
    client: ContextManager[TestClient] = served(build_app(settings, database))
    return client


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def segment_in_force(client: TestClient, auth: Auth, body: dict[str, Any], **claims: Any) -> Any:
    created = client.post("/v1/assessments", headers=english(auth, **claims), json=body)
    assert created.status_code == 201, created.text
    segment = client.get(
        f"/v1/clients/{created.json()['client_id']}/segment", headers=english(auth, **claims)
    )
    assert segment.status_code == 200, segment.text
    return segment.json()


# --- re-assessment intervals -----------------------------------------------------------------


def test_with_the_shipped_file_the_segment_is_due_again_after_the_tenants_interval(
    client: TestClient, auth: Auth
) -> None:
    # Self-care: 365 days in Helsinki's shipped policy, so not due yet.
    self_care = segment_in_force(
        client, auth, helsinki_assessment(effective_at="2026-01-10T10:00:00+02:00")
    )
    assert (self_care["key"], self_care["model_version"]) == ("self_care", "2023.1")
    assert moment(self_care["reassess_by"]) == datetime(2027, 1, 10, 8, tzinfo=UTC)
    assert self_care["reassessment_due"] is False


def test_a_care_client_assessed_more_than_90_days_ago_is_due_for_reassessment(
    client: TestClient, auth: Auth
) -> None:
    care = segment_in_force(
        client,
        auth,
        helsinki_assessment(
            coping="difficult", risk_level="many", effective_at="2026-06-01T10:00:00+03:00"
        ),
    )
    assert care["key"] == "care"
    assert moment(care["reassess_by"]) == datetime(2026, 8, 30, 7, tzinfo=UTC)
    assert care["reassessment_due"] is True


def test_reassessment_is_due_from_reassess_by_on_when_asked_at_a_moment(
    client: TestClient, auth: Auth
) -> None:
    created = client.post(
        "/v1/assessments",
        headers=english(auth),
        json=helsinki_assessment(effective_at="2026-01-10T10:00:00+02:00"),
    ).json()
    url = f"/v1/clients/{created['client_id']}/segment"
    before = client.get(url, params={"at": "2027-01-10T09:59:00+02:00"}, headers=english(auth))
    on_the_day = client.get(url, params={"at": "2027-01-10T10:00:00+02:00"}, headers=english(auth))
    assert (before.json()["reassessment_due"], on_the_day.json()["reassessment_due"]) == (
        False,
        True,
    )


def test_a_tenants_file_without_an_interval_for_the_model_sets_no_date(
    tmp_path: Path, database: TestDatabase, served: Serve, auth: Auth
) -> None:
    with with_tenants(tmp_path, database, served, HELSINKI_WITHOUT_INTERVALS) as test_client:
        care = segment_in_force(
            test_client,
            auth,
            helsinki_assessment(
                coping="difficult", risk_level="many", effective_at="2026-06-01T10:00:00+03:00"
            ),
        )
        model = test_client.get("/v1/models/helsinki-2023", headers=auth()).json()
    assert care["key"] == "care"
    assert care["reassess_by"] is None
    assert care["reassessment_due"] is False
    assert [s["reassess_after_days"] for s in model["segments"]] == [None, None, None, None]


def test_the_interval_comes_from_the_tenants_file(
    tmp_path: Path, database: TestDatabase, served: Serve, auth: Auth
) -> None:
    with with_tenants(tmp_path, database, served, HELSINKI_CARE_IN_30_DAYS) as test_client:
        care = segment_in_force(
            test_client,
            auth,
            helsinki_assessment(
                coping="difficult", risk_level="many", effective_at="2026-06-01T10:00:00+03:00"
            ),
        )
        model = test_client.get("/v1/models/helsinki-2023", headers=auth()).json()
    assert moment(care["reassess_by"]) == moment("2026-06-01T10:00:00+03:00") + timedelta(days=30)
    days = {s["key"]: s["reassess_after_days"] for s in model["segments"]}
    assert days == {"self_care": 730, "support": None, "collaboration": None, "care": 30}


@pytest.mark.parametrize(
    ("org", "model_id"),
    [
        ("helsinki", "helsinki-2023"),
        ("vantaa-kerava", "vantaa-kerava-2021"),
        ("vantaa-kerava", "helsinki-2023"),
        ("kymenlaakso", "kymenlaakso-2017"),
    ],
)
def test_the_catalog_shows_the_tenants_interval_for_each_segment(
    client: TestClient, auth: Auth, org: str, model_id: str
) -> None:
    model = client.get(f"/v1/models/{model_id}", headers=auth(org=org)).json()
    shown = {s["key"]: s["reassess_after_days"] for s in model["segments"]}
    assert shown == SHIPPED_TENANTS[org]["reassess_after_days"][model_id]
    assert len(shown) == len(model["segments"])


def test_the_shipped_helsinki_intervals_are_a_year_half_a_year_and_90_days(
    client: TestClient, auth: Auth
) -> None:
    model = client.get("/v1/models/helsinki-2023", headers=auth()).json()
    shown = {s["key"]: s["reassess_after_days"] for s in model["segments"]}
    assert shown == {"self_care": 365, "support": 180, "collaboration": 180, "care": 90}


def helsinki_2026(directory: Path, after: str = "", add: str = "") -> Path:
    """A Helsinki version 2026.1 like 2023.1, with `add` written on a line after `after`."""
    text = (BUILTIN_MODELS_DIR / "helsinki-2023" / "2023.1.toml").read_text(encoding="utf-8")
    if add:
        assert after in text
        text = text.replace(after, f"{after}{add}\n", 1)
    text = text.replace('version = "2023.1"', 'version = "2026.1"')
    text = text.replace("valid_from = 2023-12-20", "valid_from = 2026-01-01")
    path = directory / "helsinki-2023" / "2026.1.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_model_file_without_intervals_loads(tmp_path: Path) -> None:
    assert load_model_file(helsinki_2026(tmp_path)).version == "2026.1"


@pytest.mark.parametrize(
    ("after", "where"),
    [
        ('key = "care"\n', "segments[3].reassess_after_days"),
        ('rule = "grid"\n', "reassess_after_days"),
    ],
    ids=["in a segment", "for the model"],
)
def test_a_model_file_that_still_sets_an_interval_is_refused_pointing_at_the_tenants_file(
    tmp_path: Path, after: str, where: str
) -> None:
    path = helsinki_2026(tmp_path / "models", after, "reassess_after_days = 90")
    with pytest.raises(ModelFileError) as raised:
        load_model_file(path)
    assert str(raised.value).startswith(f"{path}: {where}: ")
    assert "[tenants.<id>.reassess_after_days.<model>] in the tenants file" in str(raised.value)
    app = create_app(make_settings(tmp_path, models_dir=tmp_path / "models"))
    with pytest.raises(ModelFileError) as at_start, TestClient(app):
        pass
    assert str(at_start.value) == str(raised.value)


# --- a register numbering given by the tenant --------------------------------------------------

VANTAA_KERAVA_NOTE = SHIPPED_TENANTS["vantaa-kerava"]["register_codes"]["vantaa-kerava-2021"][
    "note"
]


def test_vantaa_keravas_model_file_has_no_register_numbering_of_its_own() -> None:
    model = load_registry().latest("vantaa-kerava-2021")
    assert model is not None
    assert model.register is None
    assert [s.register_code for s in model.segments] == [None, None, None, None]


def test_vantaa_kerava_numbers_its_segments_1_to_4_by_the_tenants_file_with_a_note(
    client: TestClient, auth: Auth
) -> None:
    model = client.get("/v1/models/vantaa-kerava-2021", headers=auth(org="vantaa-kerava")).json()
    codes = {s["key"]: s["register_code"] for s in model["segments"]}
    assert codes == {"self_care": 1, "support": 2, "collaboration": 3, "care": 4}
    assert model["register"] == "health"
    assert model["register_note"] == VANTAA_KERAVA_NOTE
    assert model["register_note"]["en"].startswith("The Vantaa-Kerava model description has no")


def test_with_the_tenants_numbering_a_consenting_clients_segment_is_recordable(
    client: TestClient, auth: Auth
) -> None:
    segment = segment_in_force(
        client,
        auth,
        {
            "client": {"hetu": "131052-308T"},
            "answers": {"coping": "difficult", "service_need": "low"},
            "consent": {"health_register": True},
        },
        org="vantaa-kerava",
    )
    assert (segment["model"], segment["code"], segment["register_code"]) == (
        "vantaa-kerava-2021",
        2,
        2,
    )
    assert segment["health_register"]["recordable"] is True


def test_without_the_tenants_numbering_the_model_has_no_register_codes_and_nothing_is_recordable(
    tmp_path: Path, database: TestDatabase, served: Serve, auth: Auth
) -> None:
    with with_tenants(tmp_path, database, served, VANTAA_KERAVA_WITHOUT_NUMBERING) as test_client:
        model = test_client.get(
            "/v1/models/vantaa-kerava-2021", headers=auth(org="vantaa-kerava")
        ).json()
        segment = segment_in_force(
            test_client,
            auth,
            {
                "client": {"hetu": "131052-308T"},
                "answers": {"coping": "difficult", "service_need": "low"},
                "consent": {"health_register": True},
            },
            org="vantaa-kerava",
        )
    assert [s["register_code"] for s in model["segments"]] == [None, None, None, None]
    assert (model["register"], model["register_note"]) == (None, None)
    assert (segment["code"], segment["register_code"]) == (2, None)
    assert segment["consent"]["health_register"] is True
    assert segment["health_register"]["recordable"] is False


# --- wording overrides name their versions ------------------------------------------------------

CARE_WORDING = """
[tenants.helsinki]
default_model = "helsinki-2023"
models = ["helsinki-2023"]

[tenants.helsinki.overrides."helsinki-2023"]
{versions}

[tenants.helsinki.overrides."helsinki-2023".segments.care]
name = {{ en = "Care client (Helsinki's own wording)" }}
description = {{ en = "Helsinki's own description of a care client." }}
"""


def test_an_override_that_names_no_versions_stops_the_service_at_start(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(CARE_WORDING.format(versions=""), encoding="utf-8")
    app = create_app(make_settings(tmp_path, tenants_file=tenants))
    with pytest.raises(TenantsFileError) as raised, TestClient(app):
        pass
    assert str(tenants) in str(raised.value)
    assert "versions" in str(raised.value)


def test_an_override_naming_an_unknown_version_stops_the_service_at_start(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(CARE_WORDING.format(versions='versions = ["2019.1"]'), encoding="utf-8")
    app = create_app(make_settings(tmp_path, tenants_file=tenants))
    with pytest.raises(TenantsFileError) as raised, TestClient(app):
        pass
    assert str(tenants) in str(raised.value)
    assert "2019.1" in str(raised.value)


@pytest.fixture
def worded_2023(tmp_path: Path, database: TestDatabase, served: Serve) -> Iterator[TestClient]:
    text = CARE_WORDING.format(versions='versions = ["2023.1"]')
    with with_tenants(tmp_path, database, served, text) as test_client:
        yield test_client


def care(model: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in model["segments"] if s["key"] == "care")


def test_an_override_applies_to_the_versions_it_names_and_to_no_other(
    worded_2023: TestClient, auth: Auth
) -> None:
    shipped_2021 = load_registry().version("helsinki-2023", "2021.1")
    assert shipped_2021 is not None
    shipped_care = shipped_2021.segment_by_key("care")
    assert shipped_care is not None
    named = worded_2023.get(
        "/v1/models/helsinki-2023", params={"version": "2023.1"}, headers=auth()
    ).json()
    unnamed = worded_2023.get(
        "/v1/models/helsinki-2023", params={"version": "2021.1"}, headers=auth()
    ).json()
    assert care(named)["names"]["en"] == "Care client (Helsinki's own wording)"
    assert care(named)["description"]["en"] == "Helsinki's own description of a care client."
    assert care(unnamed)["names"] == dict(shipped_care.name)
    assert care(unnamed)["description"] == dict(shipped_care.description)


def test_assessments_under_each_version_carry_that_versions_wording(
    worded_2023: TestClient, auth: Auth
) -> None:
    in_2022 = worded_2023.post(
        "/v1/assessments",
        headers=english(auth),
        json=helsinki_assessment(
            coping="difficult", risk_level="many", effective_at="2022-05-01T10:00:00+03:00"
        ),
    ).json()
    in_2024 = worded_2023.post(
        "/v1/assessments",
        headers=english(auth),
        json=helsinki_assessment(
            coping="difficult",
            risk_level="many",
            client={"hetu": hetu("010190", "-", 123)},
            effective_at="2024-01-10T10:00:00+02:00",
        ),
    ).json()
    assert (in_2022["model_version"], in_2022["segment"]["name"]) == ("2021.1", "Care client")
    assert (in_2024["model_version"], in_2024["segment"]["name"]) == (
        "2023.1",
        "Care client (Helsinki's own wording)",
    )
