"""Each segment of every shipped model says what care coordination it requires — a named
contact, an own team, a plan — and the catalog shows it; Helsinki's follow its service-mode
table (API.md)."""

import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.segmentation.registry import BUILTIN_MODELS_DIR
from tests.conftest import ROOT, Auth

NEEDS = {"required", "usually", "if_needed", "not_needed"}
SHIPPED_FILES = sorted(BUILTIN_MODELS_DIR.glob("*/*.toml"))

with (ROOT / "app" / "tenants.toml").open("rb") as _file:
    _TENANTS = tomllib.load(_file)["tenants"]
# A tenant that uses each model (the first listed), to read it through the API.
USER_OF: dict[str, str] = {}
for _org, _conf in _TENANTS.items():
    for _model in _conf["models"]:
        USER_OF.setdefault(_model, _org)


def test_every_shipped_model_is_used_by_some_tenant() -> None:
    assert {path.parent.name for path in SHIPPED_FILES} <= set(USER_OF)
    assert len(SHIPPED_FILES) >= 4


@pytest.mark.parametrize(
    "path", SHIPPED_FILES, ids=[f"{p.parent.name}/{p.stem}" for p in SHIPPED_FILES]
)
def test_each_segment_of_every_shipped_model_states_its_coordination(
    client: TestClient, auth: Auth, path: Path
) -> None:
    model_id, version = path.parent.name, path.stem
    model = client.get(
        f"/v1/models/{model_id}",
        params={"version": version},
        headers=auth(org=USER_OF[model_id]),
    ).json()
    assert model["version"] == version
    assert model["segments"]
    for segment in model["segments"]:
        assert set(segment["coordination"]) == {"named_contact", "team", "plan"}, segment["key"]
        assert set(segment["coordination"].values()) <= NEEDS, segment["key"]


def test_helsinkis_coordination_follows_its_service_mode_table(
    client: TestClient, auth: Auth
) -> None:
    model = client.get(
        "/v1/models/helsinki-2023", params={"version": "2023.1"}, headers=auth()
    ).json()
    shown = {
        s["code"]: (
            s["coordination"]["named_contact"],
            s["coordination"]["team"],
            s["coordination"]["plan"],
        )
        for s in model["segments"]
    }
    assert shown == {
        1: ("not_needed", "not_needed", "if_needed"),
        2: ("if_needed", "if_needed", "if_needed"),
        3: ("required", "if_needed", "required"),
        4: ("required", "usually", "required"),
    }


def test_the_newest_helsinki_model_is_the_one_following_the_table(
    client: TestClient, auth: Auth
) -> None:
    newest = client.get("/v1/models/helsinki-2023", headers=auth()).json()
    assert newest["version"] == "2023.1"
    assert [s["coordination"]["named_contact"] for s in newest["segments"]] == [
        "not_needed",
        "if_needed",
        "required",
        "required",
    ]
