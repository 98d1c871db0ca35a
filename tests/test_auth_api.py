"""Tokens, scopes and tenants: 401 without a valid token, 403 without the scope or for an
unconfigured org, and another tenant's resources are simply not found."""

import time

import jwt
from fastapi.testclient import TestClient

from tests.conftest import JWT_SECRET, Auth
from tests.helpers import helsinki_assessment


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/v1/models")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


def test_a_token_signed_with_another_secret_is_401(client: TestClient) -> None:
    token = jwt.encode(
        {"sub": "x", "org": "helsinki", "scope": "segments:read", "exp": 9999999999},
        "another-secret-another-secret-another",
        "HS256",
    )
    response = client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_an_expired_token_is_401(client: TestClient) -> None:
    token = jwt.encode(
        {"sub": "x", "org": "helsinki", "scope": "segments:read", "exp": 1}, JWT_SECRET, "HS256"
    )
    response = client.get("/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_a_token_accepted_before_is_refused_once_it_expires(client: TestClient) -> None:
    """Verified tokens are remembered (app/auth.py), but never past their `exp`."""
    expires = int(time.time()) + 2
    token = jwt.encode(
        {"sub": "x", "org": "helsinki", "scope": "segments:read", "exp": expires},
        JWT_SECRET,
        "HS256",
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/models", headers=headers).status_code == 200
    assert client.get("/v1/models", headers=headers).status_code == 200
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    response = client.get("/v1/models", headers=headers)
    assert response.status_code == 401
    assert "ExpiredSignatureError" in response.json()["detail"]


def test_an_unconfigured_org_is_403(client: TestClient, auth: Auth) -> None:
    response = client.get("/v1/models", headers=auth(org="atlantis"))
    assert response.status_code == 403


def test_a_missing_scope_is_403_and_writes_nothing(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/v1/assessments", json=helsinki_assessment(), headers=auth(scopes=["segments:read"])
    )
    assert response.status_code == 403
    assert "assessments:write" in response.json()["detail"]
    lookup = client.post("/v1/clients/lookup", json={"hetu": "131052-308T"}, headers=auth())
    assert lookup.status_code == 404


def test_another_tenants_client_and_assessment_are_not_found(
    client: TestClient, auth: Auth
) -> None:
    created = client.post(
        "/v1/assessments", json=helsinki_assessment(), headers=auth(org="helsinki")
    ).json()
    other = auth(org="vantaa-kerava")
    client_id, assessment_id = created["client_id"], created["assessment_id"]
    for url in (
        f"/v1/clients/{client_id}/segment",
        f"/v1/clients/{client_id}/segment-history",
        f"/v1/clients/{client_id}/consents",
        f"/v1/assessments/{assessment_id}",
        f"/v1/clients/{client_id}/access-log",
    ):
        assert client.get(url, headers=other).status_code == 404, url
    retraction = client.post(
        f"/v1/assessments/{assessment_id}/retraction", json={"reason": "not yours"}, headers=other
    )
    assert retraction.status_code == 404
    consent = client.post(
        f"/v1/clients/{client_id}/consents",
        json={"register": "health", "given": True},
        headers=other,
    )
    assert consent.status_code == 404
    lookup = client.post("/v1/clients/lookup", json={"hetu": "131052-308T"}, headers=other)
    assert lookup.status_code == 404
