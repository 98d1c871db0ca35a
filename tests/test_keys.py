"""Instances on one database share its keys, or do not start; a rotation moves every client to
new keys while the service serves, and can be run again after an interruption."""

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.clients.identity import IdentityProtector
from app.clients.rotation import Progress, rotate
from app.db import Database, create_engine, create_sync_engine
from app.keyring.service import KeyMismatch, current_keys_are
from app.keys import KeyConfigurationError, check_value, resolve_keys
from app.main import create_app
from tests.conftest import (
    DATA_KEY,
    INDEX_KEY,
    JWT_SECRET,
    ROOT,
    Auth,
    fresh_postgres_database,
    make_settings,
    migrate,
)
from tests.helpers import helsinki_assessment, hetu

NEW_DATA_KEY = Fernet.generate_key().decode()
NEW_INDEX_KEY = "the-new-index-key-long-enough-to-be-one"
PEOPLE = [hetu(f"0{d}0280", "-", 100 + d) for d in range(1, 6)]


@pytest.fixture
def url(backend: str, tmp_path: Path) -> str:
    database = (
        f"sqlite:///{tmp_path / 'keys.db'}"
        if backend == "sqlite"
        else fresh_postgres_database("keys")
    )
    migrate(database)
    return database


def app_with(tmp_path: Path, url: str, **keys: str | None) -> FastAPI:
    values: dict[str, object] = {"database_url": url, "data_key": DATA_KEY, "index_key": INDEX_KEY}
    values.update(keys)
    return create_app(make_settings(tmp_path, **values))


@pytest.fixture
def first(tmp_path: Path, url: str, auth: Auth) -> Iterator[TestClient]:
    """The database's first instance, with the suite's keys; it has registered PEOPLE."""
    with TestClient(app_with(tmp_path, url), raise_server_exceptions=False) as client:
        for person in PEOPLE:
            body = helsinki_assessment(client={"hetu": person})
            assert client.post("/v1/assessments", json=body, headers=auth()).status_code == 201
        external = helsinki_assessment(client={"external_id": {"system": "urn:x", "value": "7"}})
        assert client.post("/v1/assessments", json=external, headers=auth()).status_code == 201
        yield client


def start(app: FastAPI) -> None:
    with TestClient(app):
        pass


@pytest.mark.parametrize(
    ("variable", "keys"),
    [
        ("SEGMENTTI_INDEX_KEY", {"index_key": "another-index-key-long-enough-to-be-one"}),
        ("SEGMENTTI_DATA_KEY", {"data_key": NEW_DATA_KEY}),
    ],
)
def test_an_instance_with_other_keys_refuses_to_start_naming_the_variable(
    first: TestClient, tmp_path: Path, url: str, variable: str, keys: dict[str, str]
) -> None:
    with pytest.raises(KeyMismatch) as refused:
        start(app_with(tmp_path, url, **keys))
    message = str(refused.value)
    assert variable in message
    for secret in (*keys.values(), DATA_KEY, INDEX_KEY, check_value(INDEX_KEY)):
        assert secret not in message


def test_keys_that_do_not_fit_a_database_from_before_the_check_are_refused(
    first: TestClient, tmp_path: Path, url: str
) -> None:
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM key_check")  # as before the check was kept
    engine.dispose()
    with pytest.raises(KeyMismatch, match="SEGMENTTI_DATA_KEY does not fit"):
        start(app_with(tmp_path, url, data_key=NEW_DATA_KEY))
    start(app_with(tmp_path, url))  # the right keys are recorded as the database's


def test_postgresql_without_configured_keys_refuses_to_start_and_says_what_to_set(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        database_url="postgresql://postgres@127.0.0.1:5432/any",
        jwt_secret=None,
        data_key=None,
        index_key=None,
    )
    with pytest.raises(KeyConfigurationError) as refused:
        resolve_keys(settings)
    for variable in ("SEGMENTTI_DATA_KEY", "SEGMENTTI_INDEX_KEY", "SEGMENTTI_JWT_SECRET"):
        assert variable in str(refused.value)
    assert not settings.dev_secrets_file.exists()


def test_a_process_on_postgresql_without_keys_exits_with_the_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTTI_")}
    env["SEGMENTTI_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:5432/test"
    env["SEGMENTTI_DEV_SECRETS_FILE"] = str(tmp_path / "secrets.json")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("segmentti: On PostgreSQL every instance needs")
    assert "SEGMENTTI_DATA_KEY" in result.stderr and "SEGMENTTI_INDEX_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_lost_development_secrets_are_noticed_instead_of_reading_nothing(
    tmp_path: Path, auth: Auth
) -> None:
    url = f"sqlite:///{tmp_path / 'local.db'}"
    migrate(url)
    local = make_settings(
        tmp_path, database_url=url, jwt_secret=None, data_key=None, index_key=None
    )
    with TestClient(create_app(local)) as client:
        token = {"Authorization": "Bearer " + mint_local_token(local)}
        assert client.post("/v1/assessments", json=helsinki_assessment(), headers=token).is_success
    local.dev_secrets_file.unlink()
    with pytest.raises(KeyMismatch, match="SEGMENTTI_DATA_KEY"):
        start(create_app(local))


def mint_local_token(settings: object) -> str:
    from app.auth import SCOPES, mint_token

    keys = resolve_keys(settings)  # type: ignore[arg-type]
    assert keys.jwt_secret
    return mint_token(keys.jwt_secret, sub="nurse", org="helsinki", scopes=list(SCOPES))


def rotate_now(url: str, batch_size: int, stop_after: int | None = None) -> Progress:
    protector = IdentityProtector([NEW_DATA_KEY, DATA_KEY], [NEW_INDEX_KEY, INDEX_KEY])

    def report(progress: Progress) -> None:
        if stop_after is not None and progress.clients >= stop_after:
            raise KeyboardInterrupt

    async def run() -> Progress:
        database = Database(create_engine(url))
        try:
            return await rotate(database, protector, batch_size=batch_size, report=report)
        finally:
            await database.dispose()

    return asyncio.run(run())


def lookup(client: TestClient, auth: Auth, person: str) -> int:
    return client.post("/v1/clients/lookup", json={"hetu": person}, headers=auth()).status_code


def test_a_rotation_moves_every_client_to_the_new_keys_and_can_be_run_again(
    first: TestClient, tmp_path: Path, url: str, auth: Auth
) -> None:
    rotating = app_with(
        tmp_path,
        url,
        data_key=NEW_DATA_KEY,
        index_key=NEW_INDEX_KEY,
        previous_data_key=DATA_KEY,
        previous_index_key=INDEX_KEY,
    )
    with TestClient(rotating, raise_server_exceptions=False) as during:
        # Before the rotation starts, an instance holding both keys writes with the old ones.
        early = helsinki_assessment(client={"hetu": hetu("111111", "-", 111)})
        assert during.post("/v1/assessments", json=early, headers=auth()).status_code == 201
        assert lookup(first, auth, hetu("111111", "-", 111)) == 200

        with pytest.raises(KeyboardInterrupt):
            rotate_now(url, batch_size=2, stop_after=2)
        # Interrupted: both kinds of client are still found by the instance with both keys.
        assert all(lookup(during, auth, person) == 200 for person in PEOPLE)
        # The instance left behind cannot register anyone any more — it never splits a person.
        late = helsinki_assessment(client={"hetu": hetu("121212", "-", 222)})
        refused = first.post("/v1/assessments", json=late, headers=auth())
        assert refused.status_code == 503
        assert during.post("/v1/assessments", json=late, headers=auth()).status_code == 201

        progress = rotate_now(url, batch_size=2)
        assert progress.clients == len(PEOPLE) + 3
        assert all(lookup(during, auth, person) == 200 for person in PEOPLE)

    with TestClient(
        app_with(tmp_path, url, data_key=NEW_DATA_KEY, index_key=NEW_INDEX_KEY)
    ) as after:
        for person in [*PEOPLE, hetu("111111", "-", 111), hetu("121212", "-", 222)]:
            assert lookup(after, auth, person) == 200
        external = {"external_id": {"system": "urn:x", "value": "7"}}
        assert after.post("/v1/clients/lookup", json=external, headers=auth()).status_code == 200
    again = rotate_now(url, batch_size=3)
    assert (again.reencrypted, again.reindexed) == (0, 0)
    with pytest.raises(KeyMismatch, match="retired by a key rotation"):
        start(app_with(tmp_path, url))


def test_an_import_during_a_rotation_finds_clients_under_either_key(
    first: TestClient, tmp_path: Path, url: str, auth: Auth
) -> None:
    rotating = app_with(
        tmp_path,
        url,
        data_key=NEW_DATA_KEY,
        index_key=NEW_INDEX_KEY,
        previous_data_key=DATA_KEY,
        previous_index_key=INDEX_KEY,
    )
    lines = "".join(
        json.dumps(
            {
                "client": {"hetu": person},
                "model": "helsinki-2023",
                "segment_code": 2,
                "effective_at": "2024-02-01T10:00:00Z",
                "recorded_by": "register",
            }
        )
        + "\n"
        for person in [*PEOPLE, hetu("131213", "-", 333)]
    )
    headers = {**auth(), "Content-Type": "application/x-ndjson"}
    with TestClient(rotating, raise_server_exceptions=False) as during:
        with pytest.raises(KeyboardInterrupt):
            rotate_now(url, batch_size=2, stop_after=2)  # some clients moved, some not yet
        refused = first.post("/v1/imports/segments", content=lines, headers=headers)
        assert refused.status_code == 503, refused.text  # the stale instance registers no one

        response = during.post("/v1/imports/segments", content=lines, headers=headers)

        assert response.status_code == 200, response.text
        assert response.json()["imported"] == len(PEOPLE) + 1
        for person in PEOPLE:
            found = during.post("/v1/clients/lookup", json={"hetu": person}, headers=auth())
            history = during.get(
                f"/v1/clients/{found.json()['client_id']}/segment-history", headers=auth()
            )
            # The client's own assessment and the imported decision: one person, one client.
            assert [i["source"] for i in history.json()["items"]] == ["import", "assessment"]


def test_the_rotation_command_needs_the_previous_keys(tmp_path: Path, url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTTI_")}
    env.update(
        SEGMENTTI_DATABASE_URL=url,
        SEGMENTTI_JWT_SECRET=JWT_SECRET,
        SEGMENTTI_DATA_KEY=NEW_DATA_KEY,
        SEGMENTTI_INDEX_KEY=NEW_INDEX_KEY,
    )
    command = [sys.executable, "-m", "app.cli", "rotate-keys", "--batch-size", "2"]
    refused = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 2 and "SEGMENTTI_PREVIOUS_DATA_KEY" in refused.stderr
    env.update(SEGMENTTI_PREVIOUS_DATA_KEY=DATA_KEY, SEGMENTTI_PREVIOUS_INDEX_KEY=INDEX_KEY)
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "done: every client is under the new keys" in done.stdout


def test_a_key_switch_waits_for_every_writer_that_checked_the_keys(
    backend: str, first: TestClient, url: str
) -> None:
    """A writer that checked the keys holds them until it ends: a claim waiting on a busy
    client's lock cannot outlast the switch and register the person again under a retired
    key (the switch, and so the batches re-indexing clients, wait for it)."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: the switch cannot interleave")
    old = IdentityProtector([DATA_KEY], [INDEX_KEY])
    engine = create_sync_engine(url)
    rotation = threading.Thread(target=rotate_now, args=(url, 10))
    try:
        with engine.connect() as writer:
            checked = sa.select(sa.literal(1)).where(
                current_keys_are(old.data_check, old.index_check)
            )
            assert writer.execute(checked).scalar() == 1  # its transaction stays open
            rotation.start()
            rotation.join(timeout=1.5)
            assert rotation.is_alive(), "the switch went ahead of a writer that checked the keys"
            writer.commit()
            rotation.join(timeout=30)
            assert not rotation.is_alive()
            assert writer.execute(checked).scalar() is None  # the old keys are retired now
    finally:
        rotation.join(timeout=30)
        engine.dispose()
