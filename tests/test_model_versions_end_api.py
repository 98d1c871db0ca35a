"""Model versions that end: past `valid_until` a version classifies nothing new, and from its
`withdrawn_on` no new assessment may use it — while what was stored under it still reads, and a
historical decision made under it can still be imported."""

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.segmentation.catalog import ModelFileError
from app.segmentation.loader import load_model_file
from app.segmentation.registry import BUILTIN_MODELS_DIR
from tests.conftest import Auth, Serve, TestDatabase, build_app, make_settings
from tests.helpers import helsinki_assessment, hetu

SHIPPED = BUILTIN_MODELS_DIR / "helsinki-2023" / "2023.1.toml"
PILOT = "helsinki-pilot"

# Helsinki may use the pilot model beside its own; the pilot has no re-assessment intervals.
TENANTS = f"""
[tenants.helsinki]
default_model = "helsinki-2023"
models = ["helsinki-2023", "{PILOT}"]
"""


def model_file(
    directory: Path,
    version: str,
    valid_from: str,
    *,
    model_id: str = PILOT,
    valid_until: str | None = None,
    withdrawn_on: str | None = None,
) -> Path:
    """A version of a model with Helsinki 2023.1's answers and segments, and the given span."""
    span = f"valid_from = {valid_from}"
    if valid_until:
        span += f"\nvalid_until = {valid_until}"
    if withdrawn_on:
        span += f"\nwithdrawn_on = {withdrawn_on}"
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace('id = "helsinki-2023"', f'id = "{model_id}"')
    text = text.replace('version = "2023.1"', f'version = "{version}"')
    text = text.replace("valid_from = 2023-12-20", span)
    target = directory / model_id / f"{version}.toml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def pilot_client(
    tmp_path: Path, database: TestDatabase, served: Serve, models: Path
) -> ContextManager[TestClient]:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(TENANTS, encoding="utf-8")
    settings = make_settings(tmp_path, models_dir=models, tenants_file=tenants)
    client: ContextManager[TestClient] = served(build_app(settings, database))
    return client


@pytest.fixture
def ending(tmp_path: Path, database: TestDatabase, served: Serve) -> Iterator[TestClient]:
    """The pilot's 2024.1 ends on 31 December 2024; 2025.1 takes over on 1 June 2025."""
    models = tmp_path / "models"
    model_file(models, "2024.1", "2024-01-01", valid_until="2024-12-31")
    model_file(models, "2025.1", "2025-06-01")
    with pilot_client(tmp_path, database, served, models) as test_client:
        yield test_client


def english(auth: Auth) -> dict[str, str]:
    return auth(**{"Accept-Language": "en"})


def pilot_assessment(effective_at: str, **fields: object) -> dict[str, object]:
    return {
        "client": {"hetu": "131052-308T"},
        "model": PILOT,
        "answers": {"coping": "difficult", "risk_level": "many"},
        "effective_at": effective_at,
        **fields,
    }


def test_an_assessment_after_the_last_day_of_a_version_is_refused_naming_effective_at(
    ending: TestClient, auth: Auth, database: TestDatabase
) -> None:
    refused = ending.post(
        "/v1/assessments", headers=english(auth), json=pilot_assessment("2025-03-01T10:00:00+02:00")
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["effective_at"]
    assert database.count("assessment") == 0


def test_the_last_day_is_still_in_force_as_a_day_in_finland(ending: TestClient, auth: Auth) -> None:
    last_evening = ending.post(
        "/v1/assessments", headers=english(auth), json=pilot_assessment("2024-12-31T23:30:00+02:00")
    )
    # 22:30 UTC on 31 December, but already 1 January in Finland: after the last day.
    new_years_night = ending.post(
        "/v1/assessments", headers=english(auth), json=pilot_assessment("2024-12-31T22:30:00Z")
    )
    assert last_evening.status_code == 201
    assert last_evening.json()["model_version"] == "2024.1"
    assert new_years_night.status_code == 422
    assert new_years_night.json()["errors"][0]["field"] == "effective_at"


def test_after_the_end_a_later_version_in_force_classifies(ending: TestClient, auth: Auth) -> None:
    later = ending.post(
        "/v1/assessments", headers=english(auth), json=pilot_assessment("2025-07-01T10:00:00+03:00")
    )
    assert later.status_code == 201
    assert later.json()["model_version"] == "2025.1"


def test_after_the_end_an_older_version_does_not_come_back_into_force(
    tmp_path: Path, database: TestDatabase, served: Serve, auth: Auth
) -> None:
    # Helsinki publishes 2024.1, in force from 1 June to 31 December 2024, after 2023.1.
    models = tmp_path / "models"
    model_file(models, "2024.1", "2024-06-01", model_id="helsinki-2023", valid_until="2024-12-31")
    settings = make_settings(tmp_path, models_dir=models)
    with served(build_app(settings, database)) as test_client:
        during = test_client.post(
            "/v1/assessments",
            headers=english(auth),
            json=helsinki_assessment(effective_at="2024-08-01T10:00:00+03:00"),
        )
        after = test_client.post(
            "/v1/assessments",
            headers=english(auth),
            json=helsinki_assessment(effective_at="2025-03-01T10:00:00+02:00"),
        )
    assert during.json()["model_version"] == "2024.1"
    assert after.status_code == 422, after.text
    assert after.json()["errors"][0]["field"] == "effective_at"


def test_a_version_pinned_after_its_end_is_refused_naming_model_version(
    ending: TestClient, auth: Auth
) -> None:
    pinned = ending.post(
        "/v1/assessments",
        headers=english(auth),
        json=pilot_assessment("2025-07-01T10:00:00+03:00", model_version="2024.1"),
    )
    assert pinned.status_code == 422
    assert pinned.json()["errors"][0]["field"] == "model_version"


def test_the_catalog_shows_when_each_version_ends_and_is_withdrawn(
    tmp_path: Path, database: TestDatabase, served: Serve, auth: Auth
) -> None:
    models = tmp_path / "models"
    model_file(models, "2024.1", "2024-01-01", valid_until="2024-12-31", withdrawn_on="2026-01-01")
    model_file(models, "2025.1", "2025-06-01")
    with pilot_client(tmp_path, database, served, models) as test_client:
        pilot = test_client.get(f"/v1/models/{PILOT}", headers=auth()).json()
        first = test_client.get(
            f"/v1/models/{PILOT}", params={"version": "2024.1"}, headers=auth()
        ).json()
    assert pilot["versions"] == [
        {
            "version": "2024.1",
            "valid_from": "2024-01-01",
            "valid_until": "2024-12-31",
            "withdrawn_on": "2026-01-01",
        },
        {
            "version": "2025.1",
            "valid_from": "2025-06-01",
            "valid_until": None,
            "withdrawn_on": None,
        },
    ]
    assert (pilot["version"], pilot["valid_until"], pilot["withdrawn_on"]) == ("2025.1", None, None)
    assert (first["version"], first["valid_until"], first["withdrawn_on"]) == (
        "2024.1",
        "2024-12-31",
        "2026-01-01",
    )


def test_the_shipped_helsinki_2021_version_shows_its_last_day(
    client: TestClient, auth: Auth
) -> None:
    model = client.get("/v1/models/helsinki-2023", headers=auth()).json()
    spans = {v["version"]: (v["valid_until"], v["withdrawn_on"]) for v in model["versions"]}
    assert spans == {"2021.1": ("2023-12-19", None), "2023.1": (None, None)}


# --- withdrawal ------------------------------------------------------------------------------


@pytest.fixture
def withdrawn_models(tmp_path: Path) -> Path:
    """The pilot's only version, in force from 2024 on, withdrawn on 1 January 2026 (the past)."""
    models = tmp_path / "withdrawn"
    model_file(models, "2024.1", "2024-01-01", withdrawn_on="2026-01-01")
    return models


@pytest.fixture
def withdrawn(
    tmp_path: Path, database: TestDatabase, served: Serve, withdrawn_models: Path
) -> Iterator[TestClient]:
    with pilot_client(tmp_path, database, served, withdrawn_models) as test_client:
        yield test_client


def test_a_pinned_withdrawn_version_is_refused_for_a_new_assessment_naming_model_version(
    withdrawn: TestClient, auth: Auth, database: TestDatabase
) -> None:
    # The decision takes effect while the version was still in use; it is being recorded now.
    pinned = withdrawn.post(
        "/v1/assessments",
        headers=english(auth),
        json=pilot_assessment("2025-05-01T10:00:00+03:00", model_version="2024.1"),
    )
    assert pinned.status_code == 422
    assert [e["field"] for e in pinned.json()["errors"]] == ["model_version"]
    assert "withdrawn" in pinned.json()["errors"][0]["message"]
    assert database.count("assessment") == 0


def test_a_withdrawn_version_in_force_is_refused_for_a_new_assessment(
    withdrawn: TestClient, auth: Auth
) -> None:
    refused = withdrawn.post(
        "/v1/assessments", headers=english(auth), json=pilot_assessment("2025-05-01T10:00:00+03:00")
    )
    classified = withdrawn.post(
        "/v1/classify",
        headers=english(auth),
        json={"model": PILOT, "answers": {"coping": "easy", "risk_level": "few"}},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "effective_at"
    assert classified.status_code == 422


def test_a_version_withdrawn_only_from_a_later_day_is_still_used(
    tmp_path: Path, database: TestDatabase, served: Serve, auth: Auth
) -> None:
    models = tmp_path / "models"
    model_file(models, "2024.1", "2024-01-01", withdrawn_on="2099-01-01")
    with pilot_client(tmp_path, database, served, models) as test_client:
        pinned = test_client.post(
            "/v1/assessments",
            headers=english(auth),
            json=pilot_assessment("2025-05-01T10:00:00+03:00", model_version="2024.1"),
        )
    assert pinned.status_code == 201
    assert pinned.json()["model_version"] == "2024.1"


def test_an_assessment_stored_before_the_withdrawal_still_reads_with_its_version(
    tmp_path: Path, database: TestDatabase, served: Serve, withdrawn_models: Path, auth: Auth
) -> None:
    in_use = tmp_path / "in-use"
    model_file(in_use, "2024.1", "2024-01-01")
    with pilot_client(tmp_path, database, served, in_use) as before_withdrawal:
        stored = before_withdrawal.post(
            "/v1/assessments",
            headers=english(auth),
            json=pilot_assessment("2025-05-01T10:00:00+03:00"),
        )
        history_before = before_withdrawal.get(
            f"/v1/clients/{stored.json()['client_id']}/segment-history", headers=english(auth)
        ).json()
    assert stored.status_code == 201
    assert stored.json()["model_version"] == "2024.1"
    with pilot_client(tmp_path, database, served, withdrawn_models) as after_withdrawal:
        read = after_withdrawal.get(
            f"/v1/assessments/{stored.json()['assessment_id']}", headers=english(auth)
        )
        history_after = after_withdrawal.get(
            f"/v1/clients/{stored.json()['client_id']}/segment-history", headers=english(auth)
        )
        segment = after_withdrawal.get(
            f"/v1/clients/{stored.json()['client_id']}/segment", headers=english(auth)
        )
    assert read.status_code == 200
    assert read.json() == stored.json()
    assert history_after.json() == history_before
    assert (segment.json()["model_version"], segment.json()["code"]) == ("2024.1", 4)


def test_a_historical_decision_may_still_be_imported_under_a_withdrawn_version(
    withdrawn: TestClient, auth: Auth, database: TestDatabase
) -> None:
    line = {
        "client": {"hetu": hetu("150550", "-", 321)},
        "model": PILOT,
        "segment_code": 3,
        "effective_at": "2025-05-01T10:00:00+03:00",
        "recorded_by": "register@helsinki.example",
    }
    imported = withdrawn.post(
        "/v1/imports/segments",
        content=json.dumps(line) + "\n",
        headers=auth(**{"Content-Type": "application/x-ndjson"}),
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 1
    assert database.rows("SELECT model_id, model_version FROM assessment") == [(PILOT, "2024.1")]


# --- the loader ------------------------------------------------------------------------------


def test_the_loader_refuses_a_version_that_ends_before_it_begins(tmp_path: Path) -> None:
    path = model_file(tmp_path, "2024.1", "2024-06-01", valid_until="2024-05-31")
    with pytest.raises(ModelFileError) as raised:
        load_model_file(path)
    assert str(path) in str(raised.value)
    assert "valid_until" in str(raised.value)


def test_a_version_that_ends_on_its_first_day_loads(tmp_path: Path) -> None:
    path = model_file(tmp_path, "2024.1", "2024-06-01", valid_until="2024-06-01")
    model = load_model_file(path)
    assert model.valid_from == model.valid_until


def test_the_service_does_not_start_with_a_version_that_ends_before_it_begins(
    tmp_path: Path,
) -> None:
    models = tmp_path / "models"
    path = model_file(models, "2024.1", "2024-06-01", valid_until="2024-05-31")
    app = create_app(make_settings(tmp_path, models_dir=models))
    with pytest.raises(ModelFileError) as raised, TestClient(app):
        pass
    assert str(path) in str(raised.value)
    assert "valid_until" in str(raised.value)
