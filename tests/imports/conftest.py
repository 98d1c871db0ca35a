"""Imports are exported like any other decision: each test on a database of its own, with
real commits (app/exports reads by commit order)."""

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(committed_client: TestClient) -> TestClient:
    return committed_client
