"""Builders the care-coordination scenarios share: clients placed in a segment at a moment."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Auth
from tests.helpers import hetu

# Helsinki's grid: the answers that place a client in each segment.
PLACED = {
    1: ("easy", "few"),
    2: ("difficult", "few"),
    3: ("easy", "many"),
    4: ("difficult", "many"),
}

Assess = Callable[..., str]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@pytest.fixture
def assess(client: TestClient, auth: Auth) -> Assess:
    """`assess(n, segment=4, days_ago=100)`: the n-th test person's client id, placed in a
    Helsinki segment that took effect that many days ago."""

    def place(n: int, segment: int = 4, ago: float = 1, org: str = "helsinki", **extra: Any) -> str:
        coping, risk_level = PLACED[segment]
        body = {
            "client": {"hetu": hetu(f"{(n % 28) + 1:02d}0190", individual=200 + n)},
            "model": "helsinki-2023",
            "answers": {"coping": coping, "risk_level": risk_level},
            "effective_at": iso(days_ago(ago)),
            **extra,
        }
        response = client.post("/v1/assessments", json=body, headers=auth(org=org))
        assert response.status_code == 201, response.text
        client_id: str = response.json()["client_id"]
        return client_id

    return place
