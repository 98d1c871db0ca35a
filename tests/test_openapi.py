"""openapi.json is committed and must equal what the app serves."""

import json
from pathlib import Path

from fastapi.testclient import TestClient

from app.cli import openapi_document

ROOT = Path(__file__).resolve().parent.parent


def test_committed_openapi_matches_the_app() -> None:
    committed = (ROOT / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_document(), (
        "openapi.json is out of date: run `segmentti openapi` and commit the result"
    )


def test_the_served_document_is_the_committed_one(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    assert served == json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))


def test_operation_ids_are_readable_and_every_body_is_named() -> None:
    document = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    operation_ids = {
        op["operationId"] for path in document["paths"].values() for op in path.values()
    }
    assert {
        "submit_assessment",
        "get_assessment",
        "retract_assessment",
        "classify",
        "get_segment",
        "get_segment_history",
        "record_consent",
        "list_consents",
        "lookup_client",
        "list_models",
        "get_model",
        "get_access_log",
        "healthz",
        "readyz",
    } <= operation_ids
    for path in document["paths"].values():
        for operation in path.values():
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                assert "$ref" in media["schema"], operation["operationId"]
