"""Target shares in the tenants file are checked at start like the rest of it."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.tenants import TenantsFileError
from tests.conftest import make_settings

KYMENLAAKSO = (
    '[tenants.kymenlaakso]\ndefault_model = "kymenlaakso-2017"\nmodels = ["kymenlaakso-2017"]\n'
)


@pytest.mark.parametrize(
    ("targets", "problem"),
    [
        ("[tenants.kymenlaakso.targets.kymenlaakso-2017]\nD = 0.5\n", "has no segment D"),
        ("[tenants.kymenlaakso.targets.kymenlaakso-2017]\nA = 80\n", "targets.kymenlaakso-2017.A"),
        ('[tenants.kymenlaakso.targets.kymenlaakso-2017]\nA = "80 %"\n', "share from 0 to 1"),
        ("[tenants.kymenlaakso.targets.kymenlaakso-2017]\nA = 0.8\nB = 0.3\n", "more than 1"),
        (
            "[tenants.kymenlaakso.targets.helsinki-2023]\nself_care = 0.8\n",
            "models the tenant uses",
        ),
        ("[tenants.kymenlaakso.targets]\nkymenlaakso-2017 = 0.8\n", "expected a table"),
    ],
    ids=["unknown segment", "a percentage", "text", "over 100 %", "model not used", "not a table"],
)
def test_a_bad_target_stops_the_service_at_start(
    tmp_path: Path, targets: str, problem: str
) -> None:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(KYMENLAAKSO + targets, encoding="utf-8")
    app = create_app(make_settings(tmp_path, tenants_file=tenants))
    with pytest.raises(TenantsFileError) as raised, TestClient(app):
        pass
    assert str(tenants) in str(raised.value) and problem in str(raised.value)
