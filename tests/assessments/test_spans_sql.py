"""The spans population figures count agree with the SQL segment in force at every time:
at and between effective times, on generated histories with back-dated entries, entries at
the same moment and retractions."""

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.assessments import queries
from app.assessments.models import assessment
from tests.assessments.test_in_force_sql import START, history, rows_for, write_histories
from tests.conftest import TestDatabase

# Every effective time (whole days), and the middle of each day, before and after them all.
MOMENTS = [START + timedelta(days=d, hours=h) for d in range(-1, 8) for h in (0, 12)]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories=st.lists(history, min_size=1, max_size=3))
def test_the_span_covering_each_time_is_the_assessment_in_force_then(
    database: TestDatabase, histories: list[list[tuple[int, int, bool]]]
) -> None:
    prepared = []
    for steps in histories:
        client_id = uuid.uuid4()
        prepared.append((client_id, *rows_for(client_id, steps)))

    async def compare() -> list[tuple[object, object]]:
        connection = database.connection
        savepoint = await connection.begin_nested()
        try:
            await write_histories(connection, prepared)
            spans = (
                await connection.execute(queries.spans(assessment.c.tenant == "helsinki"))
            ).all()
            differences = []
            for at in MOMENTS:
                found = await connection.execute(
                    queries.in_force(at, assessment.c.tenant == "helsinki")
                )
                expected = {row.client_id: row.id for row in found}
                covering = {
                    s.client_id: s.assessment_id
                    for s in spans
                    if s.valid_from <= at and (s.valid_to is None or at < s.valid_to)
                }
                if covering != expected:
                    differences.append((at, (covering, expected)))
                # no client has two spans at once
                assert len(covering) == sum(
                    1
                    for s in spans
                    if s.valid_from <= at and (s.valid_to is None or at < s.valid_to)
                )
            return differences
        finally:
            await savepoint.rollback()

    assert database.portal.call(compare) == []
