"""Finding, registering and locking clients within one tenant."""

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.audit import service as audit
from app.auth import Principal
from app.clients.identity import Identity, IdentityProtector
from app.clients.models import client
from app.db import Unit, utc_now
from app.errors import AccessAttempt, NotFound


async def _by_index(unit: Unit, tenant: str, index: str) -> uuid.UUID | None:
    found: uuid.UUID | None = (
        await unit.execute(
            sa.select(client.c.id).where(
                client.c.tenant == tenant, client.c.identity_index == index
            )
        )
    ).scalar()
    return found


async def find_or_create(
    unit: Unit, *, protector: IdentityProtector, principal: Principal, identity: Identity
) -> uuid.UUID:
    """The tenant's client with this identity, created on first sight.

    Two requests may see a new person at the same moment; the insert does nothing on conflict
    and both then read the one row that won, so no request fails and no person is duplicated.
    """
    index = protector.index(principal.org, identity)
    existing = await _by_index(unit, principal.org, index)
    if existing is not None:
        return existing
    insert = postgresql.insert if unit.dialect == "postgresql" else sqlite.insert
    await unit.execute(
        insert(client)
        .values(
            id=uuid.uuid4(),
            tenant=principal.org,
            identity_index=index,
            identity_kind=identity.kind,
            hetu_encrypted=protector.encrypt(identity.hetu) if identity.hetu else None,
            external_system=identity.external_system,
            external_value=identity.external_value,
            created_at=utc_now(),
            created_by=principal.sub,
        )
        .on_conflict_do_nothing(index_elements=["tenant", "identity_index"])
    )
    created = await _by_index(unit, principal.org, index)
    assert created is not None
    return created


async def require(unit: Unit, principal: Principal, client_id: uuid.UUID) -> None:
    """Refuses (404, and the attempt is logged) unless the client is the caller's tenant's —
    another tenant's client is simply not found."""
    tenant = (
        await unit.execute(sa.select(client.c.tenant).where(client.c.id == client_id))
    ).scalar()
    if tenant != principal.org:
        raise NotFound("No such client.", attempt=AccessAttempt(client_id, "not_found"))


async def lock(unit: Unit, client_id: uuid.UUID) -> None:
    """Take the client's row lock for the rest of the transaction (a no-op on SQLite, whose
    write transactions begin with the database's write lock)."""
    if unit.dialect == "postgresql":
        await unit.execute(sa.select(client.c.id).where(client.c.id == client_id).with_for_update())


async def lookup(
    unit: Unit, *, protector: IdentityProtector, principal: Principal, identity: Identity
) -> uuid.UUID:
    found = await _by_index(unit, principal.org, protector.index(principal.org, identity))
    if found is None:
        raise NotFound(
            "No client with this identity has been registered.",
            attempt=AccessAttempt(None, "not_found"),
        )
    audit.record(unit, principal, client_id=found)
    return found
