"""Finding, registering and locking clients within one tenant."""

import functools
import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.audit import service as audit
from app.auth import Principal
from app.clients.identity import Identity, IdentityProtector
from app.clients.models import client
from app.db import Unit, utc_now
from app.errors import AccessAttempt, NotFound, ServiceUnavailable
from app.ids import new_id
from app.keyring import service as keyring
from app.keys import DATA_KEY, INDEX_KEY

log = logging.getLogger("segmentti")


class KeysRotated(ServiceUnavailable):
    """This instance's keys are no longer the database's current ones (a rotation moved on):
    it cannot find clients or register them, so it answers 503 instead of a wrong 404."""

    def __init__(self) -> None:
        _say_once()
        super().__init__(
            "This instance's keys are no longer the database's: a key rotation moved on. "
            "It must be restarted with the new keys.",
            retry_after=60,
        )


@functools.cache
def _say_once() -> None:
    log.error("the database's keys were rotated past this instance's; restart it with them")


async def _find(
    unit: Unit, protector: IdentityProtector, tenant: str, identity: Identity
) -> uuid.UUID | None:
    """The client under any of the keys held (during a rotation: the old or the new one)."""
    found: uuid.UUID | None = (
        await unit.execute(
            sa.select(client.c.id).where(
                client.c.tenant == tenant,
                client.c.identity_index.in_(protector.indexes(tenant, identity)),
            )
        )
    ).scalar()
    return found


_CLIENT_COLUMNS = (
    "id", "tenant", "identity_index", "identity_kind", "hetu_encrypted", "external_system",
    "external_value", "created_at", "created_by", "birth_date", "last_sequence",
)  # fmt: skip


@functools.cache
def _new_client_statement(dialect: str) -> Any:
    """An insert of one client, written with the keys the parameters `data_check` and
    `index_check` name and only if they are the database's current ones; built once (built
    per request, it was a tenth of a write's time)."""
    row = sa.select(
        *(sa.bindparam(name, type_=client.c[name].type) for name in _CLIENT_COLUMNS)
    ).where(keyring.current_keys_are(sa.bindparam("data_check"), sa.bindparam("index_check")))
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(client).from_select(list(_CLIENT_COLUMNS), row)


@functools.cache
def _claim_statement(dialect: str) -> Any:
    return (
        _new_client_statement(dialect)
        .on_conflict_do_update(
            index_elements=["tenant", "identity_index"],
            set_={"last_sequence": client.c.last_sequence + 1},
        )
        .returning(client.c.id, client.c.last_sequence)
    )


def claimed() -> Any:
    """PostgreSQL: `claim`'s statement as a CTE (`claimed`: id, last_sequence), for a write
    that records what it claims in the same statement. Its parameters are
    `claim_parameters`'; no row when `claim` would have to look further (keys not current)."""
    return _claim_statement("postgresql").cte("claimed")


def claim_parameters(
    protector: IdentityProtector, principal: Principal, identity: Identity
) -> dict[str, Any] | None:
    """The parameters of `claimed`, or None when this process holds a previous index key (a
    rotation is under way) and only `claim` itself can find the client."""
    if protector.holds_previous_index_key:
        return None
    return _new_client(protector, principal, identity, last_sequence=1)


@functools.cache
def _insert_statement(dialect: str) -> Any:
    return (
        _new_client_statement(dialect)
        .on_conflict_do_nothing(index_elements=["tenant", "identity_index"])
        .returning(client.c.id)
    )


def _new_client(
    protector: IdentityProtector, principal: Principal, identity: Identity, last_sequence: int
) -> dict[str, Any]:
    """The parameters of `_new_client_statement` for this client."""
    return {
        "id": new_id(),
        "tenant": principal.org,
        "identity_index": protector.index(principal.org, identity),
        "identity_kind": identity.kind,
        "hetu_encrypted": protector.encrypt(identity.hetu) if identity.hetu else None,
        "external_system": identity.external_system,
        "external_value": identity.external_value,
        "created_at": utc_now(),
        "created_by": principal.sub,
        "birth_date": identity.birth_date,
        "last_sequence": last_sequence,
        "data_check": protector.data_check,
        "index_check": protector.index_check,
    }


async def _insert(
    unit: Unit, protector: IdentityProtector, principal: Principal, identity: Identity
) -> uuid.UUID | None:
    """Insert the client; None if someone else inserted it first, or if the keys this
    process writes with are no longer current."""
    parameters = _new_client(protector, principal, identity, last_sequence=0)
    created: uuid.UUID | None = (
        await unit.execute(_insert_statement(unit.dialect), parameters)
    ).scalar()
    return created


async def claim(
    unit: Unit, *, protector: IdentityProtector, principal: Principal, identity: Identity
) -> tuple[uuid.UUID, int]:
    """The tenant's client with this identity (created on first sight) and its next
    assessment number, its row locked for the rest of the transaction.

    One statement — insert, or on conflict take the next number — whenever this process
    holds one index key (always, but during a key rotation) and writes with the database's
    current keys; otherwise the client is looked for under every key held first."""
    if not protector.holds_previous_index_key:
        parameters = _new_client(protector, principal, identity, last_sequence=1)
        taken = await unit.fetch(_claim_statement(unit.dialect), parameters)
        if taken:
            return taken[0]["id"], int(taken[0]["last_sequence"])
    client_id = await find_or_create(
        unit, protector=protector, principal=principal, identity=identity
    )
    return client_id, await next_sequence(unit, client_id)


async def find_or_create(
    unit: Unit, *, protector: IdentityProtector, principal: Principal, identity: Identity
) -> uuid.UUID:
    """The tenant's client with this identity, created on first sight.

    Two requests may see a new person at the same moment; the insert does nothing on conflict
    and both then read the one row that won, so no request fails and no person is duplicated.
    """
    existing = await _find(unit, protector, principal.org, identity)
    if existing is not None:
        return existing
    for _ in range(2):
        created = await _insert(unit, protector, principal, identity)
        if created is not None:
            return created
        existing = await _find(unit, protector, principal.org, identity)
        if existing is not None:
            return existing
        if not await keyring.refresh(unit, protector):
            break
    raise KeysRotated()


async def require(unit: Unit, principal: Principal, client_id: uuid.UUID) -> None:
    """Refuses (404, and the attempt is logged) unless the client is the caller's tenant's —
    another tenant's client is simply not found."""
    tenant = (
        await unit.execute(sa.select(client.c.tenant).where(client.c.id == client_id))
    ).scalar()
    if tenant != principal.org:
        raise NotFound("No such client.", attempt=AccessAttempt(client_id, "not_found", tenant))


async def next_sequence(unit: Unit, client_id: uuid.UUID) -> int:
    """The client's next assessment number; taking it locks the client's row (on SQLite the
    write transaction already holds the database's write lock)."""
    taken = await unit.execute(
        sa.update(client)
        .where(client.c.id == client_id)
        .values(last_sequence=client.c.last_sequence + 1)
        .returning(client.c.last_sequence)
    )
    return int(taken.scalar_one())


async def lock(unit: Unit, client_id: uuid.UUID) -> None:
    """Take the client's row lock for the rest of the transaction (a no-op on SQLite, whose
    write transactions begin with the database's write lock)."""
    if unit.dialect == "postgresql":
        await unit.execute(sa.select(client.c.id).where(client.c.id == client_id).with_for_update())


async def lookup(
    unit: Unit, *, protector: IdentityProtector, principal: Principal, identity: Identity
) -> uuid.UUID:
    found = await _find(unit, protector, principal.org, identity)
    if found is None and not await keyring.holds_current(unit, protector):
        raise KeysRotated()
    if found is None:
        raise NotFound(
            "No client with this identity has been registered.",
            attempt=AccessAttempt(None, "not_found"),
        )
    audit.record(unit, principal, client_id=found)
    return found


async def unfit_key(unit: Unit, protector: IdentityProtector) -> str | None:
    """Which of the keys written with does not fit a stored client (None: both fit, or there
    is no client yet): the identity code must decrypt and give the stored blind index."""
    row = (
        await unit.execute(
            sa.select(client).order_by(client.c.hetu_encrypted.is_(None), client.c.id).limit(1)
        )
    ).first()
    if row is None:
        return None
    if row.hetu_encrypted is not None:
        if not protector.encrypted_with(row.hetu_encrypted, protector.data_check):
            return DATA_KEY
        identity = Identity(hetu=protector.decrypt(row.hetu_encrypted))
    else:
        identity = Identity(external_system=row.external_system, external_value=row.external_value)
    if protector.index(row.tenant, identity) != row.identity_index:
        return INDEX_KEY
    return None
