"""Exports read by commit order: each test runs on a database of its own, with real commits."""

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(committed_client: TestClient) -> TestClient:
    return committed_client
