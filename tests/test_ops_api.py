"""Liveness, readiness and the offline docs."""

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings


def test_healthz_needs_no_token(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["database"] == "ok"


def test_readyz_is_503_when_the_schema_is_not_migrated(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "outdated schema"


def test_readyz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_docs_work_without_internet(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/static-offline-docs/swagger-ui-bundle.js" in page.text
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_metrics_count_requests_by_route_template(client: TestClient, auth: Any) -> None:
    client.get("/healthz")
    client.get("/v1/clients/4f1f4a4e-2d4c-4b0e-9a53-0e9f7c1d2b11/segment", headers=auth())
    text = client.get("/metrics").text
    assert 'segmentti_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="/v1/clients/{client_id}/segment",status="404"' in text
    assert "4f1f4a4e" not in text
