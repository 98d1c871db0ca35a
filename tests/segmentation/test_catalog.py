"""Model files: the shipped ones load completely, a malformed one stops everything."""

import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.segmentation.catalog import ModelFileError
from app.segmentation.loader import load_model_file
from app.segmentation.registry import BUILTIN_MODELS_DIR, load_registry
from tests.conftest import make_settings
from tests.helpers import HELSINKI_ASPECTS

HELSINKI = BUILTIN_MODELS_DIR / "helsinki-2023" / "2023.1.toml"


def test_the_shipped_models_load() -> None:
    registry = load_registry()
    assert {"helsinki-2023", "vantaa-kerava-2021", "kymenlaakso-2017"} <= set(registry.ids())


def test_the_helsinki_catalog_has_every_aspect_of_the_service_table() -> None:
    model = load_model_file(HELSINKI)
    assert list(model.aspects) == HELSINKI_ASPECTS
    assert [(s.code, s.key, s.register_code, s.group) for s in model.segments] == [
        (1, "self_care", 1, "SPT"),
        (2, "support", 2, "SPT"),
        (3, "collaboration", 3, "PPT"),
        (4, "care", 4, "PPT"),
    ]
    collaboration = model.segment_by_code(3)
    assert collaboration is not None and collaboration.promise is not None


def write_variant(directory: Path, text: str, version: str = "2023.1") -> Path:
    target = directory / "helsinki-2023" / f"{version}.toml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def first_segment_block(text: str) -> tuple[int, int]:
    starts = [m.start() for m in re.finditer(r"^\[\[segments\]\]", text, flags=re.M)]
    return starts[0], starts[1]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t.replace('kind = "choice"', 'kind = "slider"', 1), "unknown answer kind"),
        (lambda t: t[: first_segment_block(t)[0]] + t[first_segment_block(t)[1] :], "unplaced"),
        (lambda t: t.replace("code = 2", "code = 1", 1), "duplicate segment code"),
        (lambda t: t.replace("[[segments]]", "[[segments", 1), "not valid TOML"),
        (lambda t: re.sub(r"^valid_from = .*$", "", t, count=1, flags=re.M), "valid_from"),
    ],
    ids=["unknown answer kind", "missing segment", "duplicate code", "bad toml", "no date"],
)
def test_a_malformed_file_is_refused_naming_file_and_problem(
    tmp_path: Path, change: object, problem: str
) -> None:
    path = write_variant(tmp_path, change(HELSINKI.read_text(encoding="utf-8")))  # type: ignore[operator]
    with pytest.raises(ModelFileError) as raised:
        load_model_file(path)
    assert str(path) in str(raised.value)
    assert problem in str(raised.value)


def test_a_file_named_for_another_version_is_refused(tmp_path: Path) -> None:
    write_variant(tmp_path, HELSINKI.read_text(encoding="utf-8"), version="2099.9")
    with pytest.raises(ModelFileError, match=r"<id>/<version>\.toml"):
        load_registry(tmp_path)


def test_the_same_version_twice_is_refused(tmp_path: Path) -> None:
    write_variant(tmp_path, HELSINKI.read_text(encoding="utf-8"))
    with pytest.raises(ModelFileError, match="defined twice"):
        load_registry(tmp_path)


def test_the_service_does_not_start_with_a_malformed_model(tmp_path: Path) -> None:
    write_variant(
        tmp_path,
        HELSINKI.read_text(encoding="utf-8")
        .replace("code = 2", "code = 1", 1)
        .replace('version = "2023.1"', 'version = "2030.1"'),
        version="2030.1",
    )
    app = create_app(make_settings(tmp_path, models_dir=tmp_path))
    with pytest.raises(ModelFileError, match="duplicate segment code"), TestClient(app):
        pass


def test_an_unreadable_models_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not a directory"):
        load_registry(tmp_path / "missing")
    shutil.rmtree(tmp_path, ignore_errors=True)
