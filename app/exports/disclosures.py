"""Which exports disclosed a client, worked out from the exports' records when it is asked.

An export writes one record (`ExportRun`), not a row per client it disclosed: that keeps an
export of a million decisions as fast as the database can stream it. The record fixes the
export exactly — its window of settled changes, its day and its policy — and rows below a
horizon never change, so evaluating the export's own query for one client tells, at any
later time, whether that client was in it.
"""

import uuid

import sqlalchemy as sa

from app.assessments.models import assessment, retraction
from app.clients.models import client
from app.consents.models import consent_event
from app.db import Unit
from app.exports.models import ExportRun, export_run
from app.exports.queries import born_by, records
from app.exports.service import policy_of_run


async def _changes_of(unit: Unit, tenant: str, client_id: uuid.UUID) -> list[int]:
    """When (in commit order) anything an export reads changed for the client (the tenant
    named for the consent events' index, which leads with it)."""
    stamps = sa.union_all(
        sa.select(assessment.c.change_tx).where(assessment.c.client_id == client_id),
        sa.select(retraction.c.change_tx)
        .join(assessment, assessment.c.id == retraction.c.assessment_id)
        .where(assessment.c.client_id == client_id),
        sa.select(consent_event.c.change_tx).where(
            consent_event.c.tenant == tenant, consent_event.c.client_id == client_id
        ),
    )
    return [int(stamp) for stamp in (await unit.execute(stamps)).scalars()]


def _may_have_listed(run: ExportRun, changes: list[int], birth: object) -> bool:
    """Cheap necessary condition before the export's query is run for the client."""
    if not changes or min(changes) >= run.until_tx:
        return False
    if run.since_tx == 0:
        return True
    if any(run.since_tx <= change < run.until_tx for change in changes):
        return True
    if run.min_age is None or run.since_day is None or birth is None:
        return False
    return born_by(run.since_day, run.min_age) < birth <= born_by(run.until_day, run.min_age)  # type: ignore[operator]


async def exports_of(unit: Unit, tenant: str, client_id: uuid.UUID) -> list[ExportRun]:
    """Every export of the tenant that listed the client, oldest first."""
    changes = await _changes_of(unit, tenant, client_id)
    birth = (
        await unit.execute(sa.select(client.c.birth_date).where(client.c.id == client_id))
    ).scalar()
    runs = await unit.execute(
        sa.select(export_run).where(export_run.c.tenant == tenant).order_by(export_run.c.at)
    )
    entries = []
    for row in runs:
        run = ExportRun(**row._mapping)
        if not _may_have_listed(run, changes, birth):
            continue
        policy, window = policy_of_run(run)
        listed = sa.select(
            sa.exists(records(policy, window, with_identity=False, clients=[client_id]))
        )
        if (await unit.execute(listed)).scalar():
            entries.append(run)
    return entries
