"""The change feed while writers commit: PostgreSQL hands out transaction ids in one order and
commits them in another, so a feed that remembered the highest id it had seen would skip a
decision that commits late. Pulls must neither miss nor repeat anything.

PostgreSQL only: SQLite has one writer at a time, committing in order.
"""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Auth
from tests.exports.test_exports_api import export, submit
from tests.helpers import hetu

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def sql(committed_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection of the test's own to the service's database, outside the service."""
    with psycopg.connect(committed_url, autocommit=True) as connection:
        yield connection


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def blocked_on_a_lock(sql: psycopg.Connection[Any]) -> bool:
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    row = sql.execute(query).fetchone()
    return bool(row and row[0])


def change_tx(sql: psycopg.Connection[Any], assessment_id: str) -> int:
    row = sql.execute("SELECT change_tx FROM assessment WHERE id = %s", (assessment_id,)).fetchone()
    assert row
    return int(row[0])


def test_a_decision_that_commits_after_a_later_one_is_not_skipped(
    client: TestClient, auth: Auth, committed_url: str, sql: psycopg.Connection[Any]
) -> None:
    late_person, early_person = hetu("010180", "-", 111), hetu("020275", "-", 222)
    submit(client, auth, late_person)
    submit(client, auth, early_person)  # consent given: the next decision needs none
    headers = auth()
    _, start = export(client, headers)
    late_writer: dict[str, Any] = {}

    with psycopg.connect(committed_url) as holder:
        # Another transaction holds the consent events: the next decision with a consent
        # takes its transaction id with its assessment row, then waits to record the consent.
        holder.execute("LOCK TABLE consent_event IN EXCLUSIVE MODE")
        waiting = threading.Thread(
            target=lambda: late_writer.update(submit(client, auth, late_person))
        )
        waiting.start()
        wait_until(lambda: blocked_on_a_lock(sql))
        # A decision for someone else commits meanwhile, with a later transaction id.
        early = submit(client, auth, early_person, consent=None)
        during, middle = export(client, headers, since=start)
        holder.rollback()  # the holder wrote nothing; the waiting writer goes on and commits
        waiting.join(timeout=10)

    assert late_writer, "the waiting writer did not finish"
    assert change_tx(sql, late_writer["assessment_id"]) < change_tx(sql, early["assessment_id"])
    after, end = export(client, headers, since=middle)
    last, _ = export(client, headers, since=end)
    pulled = Counter(r["assessment_id"] for r in [*during, *after, *last])
    assert pulled == Counter([early["assessment_id"], late_writer["assessment_id"]])


def test_pulls_while_many_writers_commit_see_every_decision_once(
    client: TestClient, auth: Auth
) -> None:
    writers, at_least, pulls_wanted = 4, 6, 6
    headers = auth()
    done = threading.Event()
    pulls: list[list[dict[str, Any]]] = []

    def pull_until_done() -> None:
        position: str | None = None
        while True:
            finished = done.is_set()  # read before the pull: the last pull follows every commit
            records, position = export(client, headers, since=position)
            pulls.append(records)
            if finished:
                return

    def write(month: int) -> list[str]:
        """Decisions for new people until the puller has pulled a few times meanwhile."""
        written: list[str] = []
        while len(written) < at_least or len(pulls) < pulls_wanted:
            person = hetu(f"{len(written) % 28 + 1:02d}{month:02d}70", "-", 100 + len(written))
            written.append(submit(client, auth, person)["assessment_id"])
        return written

    puller = threading.Thread(target=pull_until_done)
    puller.start()
    with ThreadPoolExecutor(writers) as pool:
        written = [a for ids in pool.map(write, range(1, writers + 1)) for a in ids]
    done.set()
    puller.join(timeout=60)

    pulled = Counter(r["assessment_id"] for records in pulls for r in records)
    assert len(pulls) > pulls_wanted
    assert pulled == Counter(written)
