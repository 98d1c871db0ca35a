"""Moving every client to new keys, in batches, while the service keeps serving.

Run with `SEGMENTTI_DATA_KEY` / `SEGMENTTI_INDEX_KEY` set to the new keys and
`SEGMENTTI_PREVIOUS_DATA_KEY` / `SEGMENTTI_PREVIOUS_INDEX_KEY` to the old ones — the
configuration every instance runs with during the rotation (README, "Key rotation"). First the
database's current keys become the new ones: from then on every instance registers new clients
with them, and an instance without them cannot register any. Then each batch of clients is
re-encrypted and re-indexed and committed on its own. Run it again after an interruption: a
client already under the new keys is left as it is.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from app.clients.identity import Identity, IdentityProtector
from app.clients.models import client
from app.db import Database, Unit
from app.keyring import service as keyring
from app.keys import DATA_KEY, INDEX_KEY, VARIABLES

_MOVE = (
    sa.update(client)
    .where(client.c.id == sa.bindparam("moved_id"))
    .values(hetu_encrypted=sa.bindparam("moved_hetu"), identity_index=sa.bindparam("moved_index"))
)


@dataclass
class Progress:
    clients: int = 0
    reencrypted: int = 0
    reindexed: int = 0


async def _switch(unit: Unit, protector: IdentityProtector) -> None:
    known = await keyring.roles(unit)
    for name in (DATA_KEY, INDEX_KEY):
        new = protector.configured[name]
        current = next((c for c, role in known[name].items() if role == keyring.CURRENT), None)
        if current == new:
            continue
        if current is not None and not protector.holds(name, current):
            raise keyring.KeyMismatch(
                f"Neither {VARIABLES[name]} nor its previous key is this database's current "
                "key; set the previous-key variable to the key the instances use now."
            )
        if current is not None:
            await keyring.record(unit, name, current, keyring.RETIRED)
        await keyring.record(unit, name, new, keyring.CURRENT)


def _moved(protector: IdentityProtector, row: sa.Row[tuple[object, ...]]) -> dict[str, object]:
    """The changes that put one client under the new keys (none if it already is)."""
    changes: dict[str, object] = {}
    if row.hetu_encrypted is not None:
        hetu = protector.decrypt(row.hetu_encrypted)
        if not protector.encrypted_with(row.hetu_encrypted, protector.data_check):
            changes["hetu_encrypted"] = protector.encrypt(hetu)
        identity = Identity(hetu=hetu)
    else:
        identity = Identity(external_system=row.external_system, external_value=row.external_value)
    index = protector.index(row.tenant, identity)
    if index != row.identity_index:
        changes["identity_index"] = index
    return changes


async def rotate(
    database: Database,
    protector: IdentityProtector,
    *,
    batch_size: int = 1000,
    report: Callable[[Progress], None] = lambda _: None,
) -> Progress:
    if batch_size < 1:
        raise ValueError("a batch holds at least one client")
    unit = database.unit()
    try:
        await _switch(unit, protector)
        await unit.commit()
    finally:
        await unit.close()
    protector.write_with(
        data_check=protector.configured[DATA_KEY], index_check=protector.configured[INDEX_KEY]
    )
    progress = Progress()
    after: uuid.UUID | None = None
    while True:
        unit = database.unit()
        try:
            query = sa.select(client).order_by(client.c.id).limit(batch_size)
            if after is not None:
                query = query.where(client.c.id > after)
            rows = (await unit.execute(query)).all()
            if not rows:
                break
            moved = []
            for row in rows:
                changes = _moved(protector, row)
                if changes:
                    moved.append(
                        {
                            "moved_id": row.id,
                            "moved_hetu": changes.get("hetu_encrypted", row.hetu_encrypted),
                            "moved_index": changes.get("identity_index", row.identity_index),
                        }
                    )
                progress.reencrypted += "hetu_encrypted" in changes
                progress.reindexed += "identity_index" in changes
            if moved:
                await unit.execute(_MOVE, moved)
            await unit.commit()
        finally:
            await unit.close()
        progress.clients += len(rows)
        after = rows[-1].id
        report(progress)
    return progress
