"""A client generated from openapi.json with openapi-python-client works against the service:
the contract integrators generate from is the one the service keeps."""

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.auth import SCOPES, mint_token
from tests.conftest import JWT_SECRET, ROOT


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    target = tmp_path_factory.mktemp("generated") / "segmentti_client"
    # The generator writes no NDJSON bodies; integrators send the import's lines as bytes.
    config = target.parent / "config.yaml"
    config.write_text("content_type_overrides:\n  application/x-ndjson: application/octet-stream\n")
    # The generator formats its output with `ruff` from PATH; in a fresh clone only the
    # virtual environment's bin has it, and CI does not activate the environment.
    tools = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(ROOT / "openapi.json"),
            "--output-path",
            str(target),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "PATH": tools},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(target.parent))
    yield "segmentti_client"
    sys.path.remove(str(target.parent))
    for name in [m for m in sys.modules if m.startswith("segmentti_client")]:
        del sys.modules[name]


def module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


def test_a_generated_client_submits_and_reads_a_segment(generated: str, client: TestClient) -> None:
    api: Any = module(generated, "client")
    models: Any = module(generated, "models")
    submit: Any = module(generated, "api.assessments.submit_assessment")
    get_segment: Any = module(generated, "api.assessments.get_segment")
    token = mint_token(JWT_SECRET, sub="apotti", org="helsinki", scopes=list(SCOPES))
    client.headers["Authorization"] = f"Bearer {token}"
    generated_client = api.AuthenticatedClient(base_url="http://testserver", token=token)
    generated_client.set_httpx_client(client)

    body = models.AssessmentRequest.from_dict(
        {
            "client": {"hetu": "131052-308T"},
            "answers": {"coping": "difficult", "risk_level": "few", "duration": "temporary"},
            "consent": {"health_register": True},
        }
    )
    created = submit.sync_detailed(client=generated_client, body=body, accept_language="en")
    assert created.status_code == 201
    assert created.parsed.segment.key == "support"

    segment = get_segment.sync(
        client=generated_client, client_id=created.parsed.client_id, accept_language="en"
    )
    assert segment.code == 2
    assert segment.health_register.recordable is True

    refused = submit.sync_detailed(
        client=generated_client,
        body=models.AssessmentRequest.from_dict(
            {"client": {"hetu": "131052-308T"}, "answers": {"coping": "sometimes"}}
        ),
    )
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.Problem)
    assert {e.field for e in refused.parsed.errors} == {"answers.coping", "answers.risk_level"}
