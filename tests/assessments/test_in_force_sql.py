"""The SQL definition of the segment in force agrees with the Python timeline on generated
histories: back-dated entries, entries at the same moment, retractions, several clients."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection

from app.assessments import queries
from app.assessments.models import Assessment, Retraction, assessment, retraction
from app.assessments.timeline import entries, in_force
from app.clients.models import client
from tests.conftest import TestDatabase

START = datetime(2024, 1, 1, tzinfo=UTC)

# One assessment: (day it takes effect, decided segment, retracted?). Recorded in list order.
entry = st.tuples(st.integers(0, 6), st.integers(1, 4), st.booleans())
history = st.lists(entry, min_size=0, max_size=8)
# A generated client: its id, assessments and retractions.
Prepared = tuple[uuid.UUID, list[Assessment], list[Retraction]]


def rows_for(client_id: uuid.UUID, steps: list[tuple[int, int, bool]]) -> tuple[list, list]:
    assessments, retractions = [], []
    for sequence, (day, code, retracted) in enumerate(steps, start=1):
        row = Assessment(
            tenant="helsinki",
            client_id=client_id,
            sequence=sequence,
            model_id="helsinki-2023",
            model_version="2023.1",
            answers={},
            details={},
            suggested_code=code,
            decided_code=code,
            explanation={},
            warnings={},
            effective_at=START + timedelta(days=day),
            recorded_at=START + timedelta(days=10, minutes=sequence),
            recorded_by="test",
            source="assessment",
            change_tx=1,
        )
        assessments.append(row)
        if retracted:
            retractions.append(
                Retraction(
                    tenant="helsinki",
                    assessment_id=row.id,
                    reason="test",
                    retracted_at=START + timedelta(days=11),
                    retracted_by="test",
                    change_tx=1,
                )
            )
    return assessments, retractions


async def write_histories(connection: AsyncConnection, prepared: Sequence[Prepared]) -> None:
    """Each generated history's client, assessments and retractions, as rows."""
    for client_id, assessments, retractions in prepared:
        await connection.execute(
            client.insert().values(
                id=client_id,
                tenant="helsinki",
                identity_kind="external",
                identity_index=uuid.uuid4().hex,
                created_at=START,
                created_by="test",
                last_sequence=len(assessments),
            )
        )
        for decision in assessments:
            await connection.execute(assessment.insert().values(decision.model_dump()))
        for withdrawal in retractions:
            await connection.execute(retraction.insert().values(withdrawal.model_dump()))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories=st.lists(history, min_size=1, max_size=3), day=st.integers(-1, 7))
def test_sql_and_python_agree_on_the_segment_in_force(
    database: TestDatabase, histories: list[list[tuple[int, int, bool]]], day: int
) -> None:
    at = START + timedelta(days=day, hours=12)
    expected: dict[uuid.UUID, uuid.UUID] = {}
    prepared = []
    for steps in histories:
        client_id = uuid.uuid4()
        assessments, retractions = rows_for(client_id, steps)
        prepared.append((client_id, assessments, retractions))
        current = in_force(entries(assessments, retractions), at)
        if current is not None:
            expected[client_id] = current.assessment.id

    async def in_sql() -> dict[uuid.UUID, uuid.UUID]:
        connection = database.connection
        savepoint = await connection.begin_nested()
        try:
            await write_histories(connection, prepared)
            found = await connection.execute(
                queries.in_force(at, assessment.c.tenant == "helsinki")
            )
            return {row.client_id: row.id for row in found}
        finally:
            await savepoint.rollback()

    assert database.portal.call(in_sql) == expected
