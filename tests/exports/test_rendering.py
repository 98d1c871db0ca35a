"""On PostgreSQL the database writes the export's lines (app/exports/render.py); on SQLite
Python does (app/exports/formats.py). Both must write the same records — for every format,
with and without identity codes, full and incremental, whatever text a person recorded."""

import csv
import io
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.auth import SCOPES, Principal
from app.exports import service
from app.exports.stream import _rendered, _written
from app.runtime import Runtime
from tests.conftest import Auth
from tests.exports.test_exports_api import export, set_consent, submit
from tests.helpers import hetu

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

# What an imported `recorded_by` may hold (one visible line, no formula start): quotes,
# separators and other scripts' letters must come out the same from both renderings.
AWKWARD = [
    'Dr. "Quote", Comma',
    "semi;colon, 'single' and \"double\" and a, trailing,",
    "backslash \\ and slash /",
    "ääkköset ja 🙂 and \u00a0no-break",
    "cmd|' /C calc'!A0",
]


def import_awkward(client: TestClient, auth: Auth) -> None:
    lines = [
        {
            "client": {"hetu": hetu(f"0{n + 1}0375", "-", 300 + n)},
            "model": "helsinki-2023",
            "segment_code": 1 + n % 4,
            "effective_at": "2024-05-02T10:00:00+03:00",
            "recorded_by": text,
            "consent": {"health_register": True},
        }
        for n, text in enumerate(AWKWARD)
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    response = client.post(
        "/v1/imports/segments",
        content=body,
        headers={**auth(), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text


def records(text: str, fmt: str) -> Counter[str]:
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        return Counter(json.dumps(row) for row in rows)
    return Counter(json.dumps(json.loads(line), sort_keys=True) for line in text.splitlines())


async def both_ways(
    runtime: Runtime, fmt: str, with_identity: bool, since: str | None
) -> tuple[str, str]:
    scopes = SCOPES if with_identity else [s for s in SCOPES if s != "identity:read"]
    principal = Principal("test", runtime.tenants["helsinki"], frozenset(scopes))
    unit = runtime.database.unit()
    try:
        begun = await service.begin(
            unit, principal=principal, fmt=fmt, since=since, cursor_keys=runtime.cursor_keys
        )
        await unit.commit()
    finally:
        await unit.close()

    async def text(chunks: AsyncIterator[bytes]) -> str:
        return b"".join([chunk async for chunk in chunks]).decode()

    database, protector = runtime.database, runtime.protector
    return (
        await text(_rendered(database, begun, protector)),
        await text(_written(database, begun, protector)),
    )


@pytest.mark.parametrize("with_identity", [False, True])
@pytest.mark.parametrize("fmt", ["csv", "ndjson", "fhir"])
def test_the_database_writes_what_python_writes(
    client: TestClient, auth: Auth, fmt: str, with_identity: bool
) -> None:
    kept = submit(client, auth, hetu("010180", "-", 222))
    wrong = submit(client, auth, hetu("020275", "-", 333))
    third = hetu("030360", "-", 444)
    submit(client, auth, third)
    import_awkward(client, auth)
    _, cursor = export(client, auth())
    client.post(
        f"/v1/assessments/{wrong['assessment_id']}/retraction",
        json={"reason": "entered in error"},
        headers=auth(),
    )
    set_consent(client, auth, kept["client_id"], False)
    external_id = {"external_id": {"system": "urn:example:ehr", "value": "A-17"}}
    body = {"client": external_id, "answers": {"coping": "easy", "risk_level": "few"}}
    body["consent"] = {"health_register": True}
    assert client.post("/v1/assessments", json=body, headers=auth()).status_code == 201
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]

    portal: Any = client.portal
    for since in (None, cursor):
        by_database, by_python = portal.call(both_ways, runtime, fmt, with_identity, since)
        assert records(by_database, fmt) == records(by_python, fmt)
        assert by_database.count("\n") >= 2
        if since is None:
            assert (third in by_database) == with_identity
