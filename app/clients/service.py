"""Finding and registering clients within one tenant."""

import uuid

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.audit import service as audit
from app.auth import Principal
from app.clients.identity import IdentityProtector
from app.clients.models import Client, ClientIdentity, ClientRef
from app.db import utc_now
from app.errors import NotFound


def _by_index(session: Session, tenant: str, index: str) -> Client | None:
    return session.exec(
        select(Client).where(Client.tenant == tenant, Client.identity_index == index)
    ).first()


def find_or_create(
    session: Session,
    protector: IdentityProtector,
    principal: Principal,
    identity: ClientIdentity,
) -> Client:
    """The tenant's client with this identity, created on first sight.

    Two requests may see a new person at the same moment; the insert does nothing on conflict
    and both then read the one row that won, so no request fails and no person is duplicated.
    """
    index = protector.index(principal.org, identity)
    existing = _by_index(session, principal.org, index)
    if existing is not None:
        return existing
    values = {
        "id": uuid.uuid4(),
        "tenant": principal.org,
        "identity_index": index,
        "identity_kind": "hetu" if identity.hetu is not None else "external",
        "hetu_encrypted": protector.encrypt(identity.hetu) if identity.hetu else None,
        "external_system": identity.external_id.system if identity.external_id else None,
        "external_value": identity.external_id.value if identity.external_id else None,
        "created_at": utc_now(),
        "created_by": principal.sub,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Client)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant", "identity_index"])
    )
    session.execute(statement)
    created = _by_index(session, principal.org, index)
    assert created is not None
    return created


def get(session: Session, principal: Principal, client_id: uuid.UUID, operation: str) -> Client:
    """The caller's tenant's client, or 404 — another tenant's client is simply not found."""
    client = session.get(Client, client_id)
    if client is None or client.tenant != principal.org:
        audit.record_refusal(
            session, principal, operation=operation, client_id=client_id, outcome="not_found"
        )
        raise NotFound("No such client.")
    return client


def lookup(
    session: Session,
    protector: IdentityProtector,
    principal: Principal,
    identity: ClientIdentity,
) -> ClientRef:
    client = _by_index(session, principal.org, protector.index(principal.org, identity))
    if client is None:
        audit.record_refusal(
            session, principal, operation="lookup_client", client_id=None, outcome="not_found"
        )
        raise NotFound("No client with this identity has been registered.")
    audit.record(session, principal, operation="lookup_client", client_id=client.id)
    session.commit()
    return ClientRef(client_id=client.id)
