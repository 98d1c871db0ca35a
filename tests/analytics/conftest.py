"""Builders the population scenarios share: clients placed in segments at given times, by
importing register lines (one request for a whole population)."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Auth
from tests.helpers import hetu

Place = Callable[..., list[str]]
MODELS = {"helsinki": "helsinki-2023", "kymenlaakso": "kymenlaakso-2017"}


def person(n: int, birth: str | None = None) -> dict[str, Any]:
    """The n-th test person: an identity code born on `birth` (DDMMYY, 1900s), or an
    external id (no known birth date) when `birth` is 'none'."""
    if birth == "none":
        return {"external_id": {"system": "urn:example:clients", "value": f"client-{n}"}}
    born = birth or f"{(n % 28) + 1:02d}0160"
    return {"hetu": hetu(born, individual=2 + n)}


@pytest.fixture
def place(client: TestClient, auth: Auth) -> Place:
    """`place(people, code, at, org=…)`: each of `people` (numbers, or identities) gets
    segment `code` effective at `at`; returns their client ids."""

    def run(people: list[Any], code: int, at: str, org: str = "helsinki") -> list[str]:
        identities = [p if isinstance(p, dict) else person(p) for p in people]
        lines = [
            {
                "client": identity,
                "model": MODELS.get(org, "helsinki-2023"),
                "segment_code": code,
                "effective_at": at,
                "recorded_by": "register",
            }
            for identity in identities
        ]
        response = client.post(
            "/v1/imports/segments",
            content="".join(json.dumps(line) + "\n" for line in lines),
            headers={**auth(org=org), "Content-Type": "application/x-ndjson"},
        )
        assert response.status_code == 200, response.text
        ids = []
        for identity in identities:
            found = client.post("/v1/clients/lookup", json=identity, headers=auth(org=org))
            ids.append(found.json().get("client_id") if found.is_success else None)
        return ids

    return run
