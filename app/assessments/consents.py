"""Consent to recording the segment in the health care register: given and withdrawn events."""

import uuid
from datetime import UTC

from sqlmodel import Session

from app.assessments.models import ConsentEvent
from app.assessments.schemas import ConsentEvents, ConsentEventView, ConsentRequest
from app.assessments.service import consent_events, lock_client
from app.audit import service as audit
from app.auth import Principal
from app.clients import service as clients
from app.db import utc_now
from app.errors import invalid
from app.idempotency import Idempotency, run_once


def _view(event: ConsentEvent) -> ConsentEventView:
    return ConsentEventView(
        consent_id=event.id,
        client_id=event.client_id,
        register_name=event.register_name,
        given=event.given,
        at=event.at,
        recorded_at=event.recorded_at,
        recorded_by=event.recorded_by,
        source=event.source,
        assessment_id=event.assessment_id,
    )


def record(
    session: Session,
    *,
    principal: Principal,
    client_id: uuid.UUID,
    body: ConsentRequest,
    idempotency: Idempotency,
) -> tuple[ConsentEventView, bool]:
    if body.register_name == "social":
        raise invalid(
            "register",
            "structured recording into the social care register is not "
            "possible yet; only `health` consent can be recorded",
        )
    now = utc_now()
    if body.at is not None and body.at > now:
        raise invalid("at", "must not be in the future")
    at = (body.at or now).astimezone(UTC)

    def work() -> ConsentEventView:
        clients.get(session, principal, client_id, "record_consent")
        lock_client(session, client_id)
        event = ConsentEvent(
            tenant=principal.org,
            client_id=client_id,
            register_name=body.register_name,
            given=body.given,
            at=at,
            recorded_at=now,
            recorded_by=principal.sub,
            source="consent",
        )
        session.add(event)
        audit.record(session, principal, operation="record_consent", client_id=client_id)
        session.flush()
        return _view(event)

    return run_once(
        session,
        principal,
        idempotency,
        operation="record_consent",
        target=str(client_id),
        body=body,
        response_type=ConsentEventView,
        work=work,
    )


def list_events(session: Session, *, principal: Principal, client_id: uuid.UUID) -> ConsentEvents:
    clients.get(session, principal, client_id, "read_consents")
    events = sorted(consent_events(session, client_id), key=lambda e: (e.at, e.recorded_at))
    audit.record(session, principal, operation="read_consents", client_id=client_id)
    session.commit()
    return ConsentEvents(items=[_view(e) for e in events])
