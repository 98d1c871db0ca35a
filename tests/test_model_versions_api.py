"""Model versions: the one in force is used, a version can be pinned, and publishing a new
version never changes what was stored."""

from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.segmentation.registry import BUILTIN_MODELS_DIR
from tests.conftest import Auth, Serve, TestDatabase, build_app, make_settings
from tests.helpers import helsinki_assessment

SHIPPED = BUILTIN_MODELS_DIR / "helsinki-2023" / "2023.1.toml"


def publish_second_helsinki_version(directory: Path) -> None:
    """Version 2026.1, in force from 1 June 2026: segment 1 renamed and a new first step."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace('version = "2023.1"', 'version = "2026.1"')
    text = text.replace("valid_from = 2023-12-20", "valid_from = 2026-06-01")
    text = text.replace('en = "Coping in everyday life"', 'en = "Everyday coping (2026 wording)"')
    text = text.replace('en = "Self-care client"', 'en = "Self-reliant client"')
    target = directory / "helsinki-2023" / "2026.1.toml"
    target.parent.mkdir(parents=True)
    target.write_text(text, encoding="utf-8")


@pytest.fixture
def published(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    publish_second_helsinki_version(models)
    return models


def client_for(
    tmp_path: Path, database: TestDatabase, served: Serve, models: Path | None = None
) -> ContextManager[TestClient]:
    settings = make_settings(tmp_path, models_dir=models)
    client: ContextManager[TestClient] = served(build_app(settings, database))
    return client


@pytest.fixture
def versioned(
    tmp_path: Path, database: TestDatabase, served: Serve, published: Path
) -> Iterator[TestClient]:
    with client_for(tmp_path, database, served, published) as test_client:
        yield test_client


def english(auth: Auth) -> dict[str, str]:
    return auth(**{"Accept-Language": "en"})


def test_the_model_lists_its_versions(versioned: TestClient, auth: Auth) -> None:
    model = versioned.get("/v1/models/helsinki-2023", headers=auth()).json()
    assert [v["version"] for v in model["versions"]] == ["2021.1", "2023.1", "2026.1"]
    assert model["version"] == "2026.1"
    older = versioned.get(
        "/v1/models/helsinki-2023",
        params={"version": "2023.1"},
        headers=auth(**{"Accept-Language": "en"}),
    ).json()
    assert older["segments"][0]["names"]["en"] == "Self-care client"


def test_the_version_in_force_at_effective_at_classifies(versioned: TestClient, auth: Auth) -> None:
    before = versioned.post(
        "/v1/assessments",
        headers=english(auth),
        json=helsinki_assessment(effective_at="2026-01-15T10:00:00+02:00"),
    ).json()
    after = versioned.post(
        "/v1/assessments",
        headers=english(auth),
        json=helsinki_assessment(effective_at="2026-07-15T10:00:00+03:00"),
    ).json()
    assert (before["model_version"], before["segment"]["name"]) == ("2023.1", "Self-care client")
    assert (after["model_version"], after["segment"]["name"]) == ("2026.1", "Self-reliant client")
    assert after["explanation"][0].startswith("Everyday coping (2026 wording)")


def test_a_version_can_be_pinned_and_an_unknown_one_is_refused(
    versioned: TestClient, auth: Auth
) -> None:
    pinned = versioned.post(
        "/v1/assessments", headers=english(auth), json=helsinki_assessment(model_version="2023.1")
    ).json()
    assert pinned["model_version"] == "2023.1"
    unknown = versioned.post(
        "/v1/assessments", headers=english(auth), json=helsinki_assessment(model_version="1999.1")
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "model_version"


def test_publishing_a_version_changes_no_stored_assessment(
    tmp_path: Path, database: TestDatabase, served: Serve, published: Path, auth: Auth
) -> None:
    now = datetime.now(UTC).isoformat()
    with client_for(tmp_path, database, served) as before_publishing:
        stored = before_publishing.post(
            "/v1/assessments", headers=english(auth), json=helsinki_assessment(effective_at=now)
        ).json()
        history_before = before_publishing.get(
            f"/v1/clients/{stored['client_id']}/segment-history", headers=english(auth)
        ).json()
    assert stored["model_version"] == "2023.1"
    with client_for(tmp_path, database, served, published) as after_publishing:
        read = after_publishing.get(
            f"/v1/assessments/{stored['assessment_id']}", headers=english(auth)
        ).json()
        history_after = after_publishing.get(
            f"/v1/clients/{stored['client_id']}/segment-history", headers=english(auth)
        ).json()
    assert read == stored
    assert history_after == history_before
