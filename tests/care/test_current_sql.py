"""`segment_now`, refreshed from generated histories, holds what the Python timeline says is
in force now — the definition every reader of the segment in force shares."""

import uuid
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select as sa_select

from app.assessments import current
from app.assessments.timeline import entries, in_force
from app.care import queries
from app.db import Unit
from tests.assessments.test_in_force_sql import START, history, rows_for, write_histories
from tests.conftest import TestDatabase


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories=st.lists(history, min_size=1, max_size=3), refreshed_twice=st.booleans())
def test_segment_now_agrees_with_the_timeline(
    database: TestDatabase, histories: list[list[tuple[int, int, bool]]], refreshed_twice: bool
) -> None:
    now = datetime.now(UTC)
    expected: dict[uuid.UUID, uuid.UUID] = {}
    prepared = []
    for steps in histories:
        client_id = uuid.uuid4()
        assessments, retractions = rows_for(client_id, steps)
        prepared.append((client_id, assessments, retractions))
        found = in_force(entries(assessments, retractions), now)
        if found is not None:
            expected[client_id] = found.assessment.id
    assert all(a.effective_at >= START for _, rows, _ in prepared for a in rows)

    async def in_sql() -> dict[uuid.UUID, uuid.UUID]:
        connection = database.connection
        savepoint = await connection.begin_nested()
        try:
            await write_histories(connection, prepared)
            unit = Unit(database, read_only=False)
            ids = [client_id for client_id, _, _ in prepared]
            await current.refresh(unit, "helsinki", ids)
            if refreshed_twice:  # a refresh is idempotent
                await current.refresh(unit, "helsinki", ids)
            await unit.commit()  # into the test's savepoint, rolled back below
            found = await connection.execute(sa_select(queries.current("helsinki", now)))
            return {row.client_id: row.assessment_id for row in found}
        finally:
            await savepoint.rollback()

    assert database.portal.call(in_sql) == expected
