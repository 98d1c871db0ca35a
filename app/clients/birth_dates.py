"""Birth dates for clients stored before the schema kept them.

Age-scoped export policies (Helsinki exports adults only) read `client.birth_date`; a client
registered before revision ab064ae42de5 has none and would silently fall out of every such
export. The birth date is in the encrypted identity code, so only a process holding the data
key can fill it: `segmentti backfill-birth-dates`, in batches that each commit on their own.
Run it again after an interruption: a client with a birth date is never touched again, and one
without an identity code has no birth date to find.
"""

import uuid
from collections.abc import Callable

import sqlalchemy as sa

from app import identity_codes
from app.clients.identity import IdentityProtector
from app.clients.models import client
from app.db import Database

_FILL = (
    sa.update(client)
    .where(client.c.id == sa.bindparam("filled_id"), client.c.birth_date.is_(None))
    .values(birth_date=sa.bindparam("filled_date"))
)


async def backfill(
    database: Database,
    protector: IdentityProtector,
    *,
    batch_size: int = 1000,
    report: Callable[[int], None] = lambda _: None,
) -> int:
    """Fill every missing birth date; returns how many were filled."""
    if batch_size < 1:
        raise ValueError("a batch holds at least one client")
    filled = 0
    after: uuid.UUID | None = None
    while True:
        query = (
            sa.select(client.c.id, client.c.hetu_encrypted)
            .where(client.c.birth_date.is_(None), client.c.hetu_encrypted.is_not(None))
            .order_by(client.c.id)
            .limit(batch_size)
        )
        if after is not None:
            query = query.where(client.c.id > after)
        unit = database.unit()
        try:
            rows = (await unit.execute(query)).all()
            if not rows:
                break
            await unit.execute(
                _FILL,
                [
                    {
                        "filled_id": row.id,
                        "filled_date": identity_codes.birth_date(
                            protector.decrypt(row.hetu_encrypted)
                        ),
                    }
                    for row in rows
                ],
            )
            await unit.commit()
        finally:
            await unit.close()
        filled += len(rows)
        after = rows[-1].id
        report(filled)
    return filled
