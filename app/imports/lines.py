"""Checking one import line and preparing its row for the staging table.

Everything is decided here, per line, before anything is written: the identity normalised
and protected (encrypted, blind-indexed under every key held), the model version, the
segment. A line that fails gives its problems with the line number; a file with any failing
line writes nothing.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from app.catalog.service import choose_version
from app.clients.identity import IdentityProtector
from app.errors import FieldError, SegmenttiError, field_errors_from_pydantic
from app.imports.schemas import ImportLine
from app.segmentation.registry import ModelRegistry
from app.strict_json import strict_loads
from app.tenants import Tenant


@dataclass(frozen=True)
class Staged:
    """An import line ready for the staging table: no identity code in clear."""

    line: int
    assessment_id: uuid.UUID
    new_client_id: uuid.UUID
    log_id: uuid.UUID
    identity_kind: str
    index_a: str
    index_b: str | None
    hetu_encrypted: str | None
    external_system: str | None
    external_value: str | None
    birth_date: date | None
    model_id: str
    model_version: str
    decided_code: int
    effective_at: datetime
    recorded_by: str
    consent_given: bool | None
    consent_at: datetime | None
    consent_id: uuid.UUID


COLUMNS = tuple(Staged.__dataclass_fields__)


def _decided_code(registry: ModelRegistry, model_id: str, version: str, code: int) -> int | None:
    model = registry.version(model_id, version)
    assert model is not None
    if model.register is not None:
        return next((s.code for s in model.segments if s.register_code == code), None)
    return code if model.segment_by_code(code) is not None else None


def stage(
    number: int,
    raw: bytes,
    *,
    tenant: Tenant,
    protector: IdentityProtector,
    now: datetime,
) -> Staged | list[FieldError]:
    """The staged row of line `number`, or what is wrong with it (fields named per line)."""
    where = f"lines[{number}]"
    try:
        line = ImportLine.model_validate(strict_loads(raw))
    except ValueError as exc:  # JSONDecodeError too
        if isinstance(exc, ValidationError):
            return [
                FieldError(f"{where}.{e.field}" if e.field != "body" else where, e.message)
                for e in field_errors_from_pydantic(exc.errors())
            ]
        reason = exc.msg if hasattr(exc, "msg") else "not valid JSON"
        return [FieldError(where, f"not I-JSON: {reason}")]
    problems = []
    if line.effective_at > now:
        problems.append(FieldError(f"{where}.effective_at", "must not be in the future"))
    if line.consent and line.consent.at and line.consent.at > now:
        problems.append(FieldError(f"{where}.consent.at", "must not be in the future"))
    registry = tenant.registry
    try:
        version = choose_version(
            registry, tenant, line.model, line.model_version, line.effective_at
        )
    except SegmenttiError as exc:
        problems.extend(FieldError(f"{where}.{e.field}", e.message) for e in exc.errors)
        return problems
    code = _decided_code(registry, version.id, version.version, line.segment_code)
    if code is None:
        numbers = [str(s.register_code or s.code) for s in version.segments]
        problems.append(
            FieldError(f"{where}.segment_code", f"expected one of {', '.join(numbers)}")
        )
    if problems:
        return problems
    assert code is not None
    identity = line.client.identity()
    indexes = protector.indexes(tenant.id, identity)
    write_index = protector.index(tenant.id, identity)
    return Staged(
        line=number,
        assessment_id=uuid.uuid4(),
        new_client_id=uuid.uuid4(),
        log_id=uuid.uuid4(),
        identity_kind=identity.kind,
        index_a=write_index,
        index_b=next((i for i in indexes if i != write_index), None),
        hetu_encrypted=protector.encrypt(identity.hetu) if identity.hetu else None,
        external_system=identity.external_system,
        external_value=identity.external_value,
        birth_date=identity.birth_date,
        model_id=version.id,
        model_version=version.version,
        decided_code=code,
        effective_at=line.effective_at,
        recorded_by=line.recorded_by,
        consent_given=line.consent.health_register if line.consent else None,
        consent_at=(line.consent.at or line.effective_at) if line.consent else None,
        consent_id=uuid.uuid4(),
    )


def as_row(staged: Staged) -> Mapping[str, Any]:
    return {name: getattr(staged, name) for name in COLUMNS}


def as_record(staged: Staged) -> Sequence[Any]:
    return tuple(getattr(staged, name) for name in COLUMNS)
