"""A local run with nothing configured: secrets are generated once, kept, and the project's
command mints tokens the service accepts."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from app.config import Settings
from app.keys import resolve_keys
from app.main import create_app
from tests.conftest import ROOT


def test_development_secrets_are_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(dev_secrets_file=tmp_path / "secrets.json")
    first = resolve_keys(settings)
    second = resolve_keys(settings)
    assert first.generated and first == second
    assert stat.S_IMODE(os.stat(tmp_path / "secrets.json").st_mode) == 0o600
    assert set(json.loads((tmp_path / "secrets.json").read_text())) == {
        "jwt_secret",
        "data_key",
        "index_key",
    }


def test_configured_secrets_are_used_and_nothing_is_written(tmp_path: Path) -> None:
    data_key = Fernet.generate_key().decode()
    settings = Settings(
        jwt_secret="s" * 32,
        data_key=data_key,
        index_key="i" * 32,
        dev_secrets_file=tmp_path / "secrets.json",
    )
    keys = resolve_keys(settings)
    assert (keys.jwt_secret, keys.generated) == ("s" * 32, False)
    assert not (tmp_path / "secrets.json").exists()


def test_the_token_command_mints_a_token_the_service_accepts(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.json"
    env = {**os.environ, "SEGMENTTI_DEV_SECRETS_FILE": str(secrets_file)}
    for name in ("SEGMENTTI_JWT_SECRET", "SEGMENTTI_DATA_KEY", "SEGMENTTI_INDEX_KEY"):
        env.pop(name, None)
    minted = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "token",
            "--org",
            "helsinki",
            "--sub",
            "nurse",
            "--scope",
            "segments:read",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    token = minted.stdout.strip()
    app = create_app(
        Settings(dev_secrets_file=secrets_file, database_url=f"sqlite:///{tmp_path / 'unused.db'}")
    )
    with TestClient(app) as client:
        models = client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert models.status_code == 200
    assert models.json()["default_model"] == "helsinki-2023"
