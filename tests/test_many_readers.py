"""More readers at once than the pool has connections: each read writes its access-log line
after it, and must give its own connection back first or no read would finish."""

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.conftest import Auth
from tests.helpers import helsinki_assessment

READERS = 40  # the SQLite pool holds 15, the PostgreSQL one 20


def test_more_readers_than_connections_all_finish_and_are_logged(
    committed_client: TestClient, auth: Auth
) -> None:
    created = committed_client.post("/v1/assessments", json=helsinki_assessment(), headers=auth())
    assert created.status_code == 201, created.text
    path = f"/v1/clients/{created.json()['client_id']}/segment"

    with ThreadPoolExecutor(READERS) as pool:
        answers = list(
            pool.map(lambda _: committed_client.get(path, headers=auth()), range(READERS))
        )

    assert [a.status_code for a in answers] == [200] * READERS
    log = committed_client.get(
        f"/v1/clients/{created.json()['client_id']}/access-log", headers=auth()
    ).json()
    assert sum(1 for item in log["items"] if item["operation"] == "read_segment") >= READERS
