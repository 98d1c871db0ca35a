"""Clients stored before the schema kept birth dates get them from their identity codes, so an
adults-only export does not silently leave them out."""

import csv
import io
import os
import subprocess
import sys

import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.db import create_sync_engine
from tests.conftest import DATA_KEY, INDEX_KEY, JWT_SECRET, ROOT, Auth
from tests.helpers import helsinki_assessment, hetu

ADULTS = [hetu(f"0{d}0280", "-", 100 + d) for d in range(1, 4)]


def exported_clients(client: TestClient, auth: Auth) -> set[str]:
    response = client.get("/v1/exports/segments?format=csv", headers=auth())
    assert response.status_code == 200, response.text
    return {row["client_id"] for row in csv.DictReader(io.StringIO(response.text))}


def backfill(url: str, *arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTTI_")}
    env.update(
        SEGMENTTI_DATABASE_URL=url,
        SEGMENTTI_JWT_SECRET=JWT_SECRET,
        SEGMENTTI_DATA_KEY=DATA_KEY,
        SEGMENTTI_INDEX_KEY=INDEX_KEY,
    )
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "backfill-birth-dates", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_clients_from_before_birth_dates_are_exported_again_after_the_backfill(
    committed_client: TestClient, committed_url: str, auth: Auth
) -> None:
    client = committed_client
    for person in ADULTS:
        body = helsinki_assessment(client={"hetu": person}, consent={"health_register": True})
        assert client.post("/v1/assessments", json=body, headers=auth()).status_code == 201
    external = helsinki_assessment(
        client={"external_id": {"system": "urn:x", "value": "7"}},
        consent={"health_register": True},
    )
    assert client.post("/v1/assessments", json=external, headers=auth()).status_code == 201
    everyone = exported_clients(committed_client, auth)
    assert len(everyone) == len(ADULTS)  # Helsinki exports adults only; the external id has no age
    engine = create_sync_engine(committed_url)
    try:
        with engine.begin() as connection:  # as stored before revision ab064ae42de5
            connection.execute(sa.text("UPDATE client SET birth_date = NULL"))
        assert exported_clients(committed_client, auth) == set()

        done = backfill(committed_url, "--batch-size", "2")

        assert done.returncode == 0, done.stderr
        assert f"done: {len(ADULTS)} birth dates filled" in done.stdout
        assert exported_clients(committed_client, auth) == everyone
        with engine.connect() as connection:
            missing = connection.execute(
                sa.text("SELECT count(*) FROM client WHERE birth_date IS NULL")
            ).scalar_one()
        assert missing == 1  # the client known by an external id only has no birth date
        again = backfill(committed_url)
        assert again.returncode == 0 and "done: 0 birth dates filled" in again.stdout
    finally:
        engine.dispose()


def test_the_backfill_refuses_keys_that_are_not_the_databases(
    committed_client: TestClient, committed_url: str, auth: Auth
) -> None:
    body = helsinki_assessment(client={"hetu": ADULTS[0]})
    assert committed_client.post("/v1/assessments", json=body, headers=auth()).status_code == 201
    refused = backfill(committed_url, SEGMENTTI_INDEX_KEY="another-index-key-long-enough-to-be-1")

    assert refused.returncode == 2
    assert "SEGMENTTI_INDEX_KEY" in refused.stderr
    assert ADULTS[0] not in refused.stderr + refused.stdout
