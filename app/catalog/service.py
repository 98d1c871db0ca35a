"""Choosing the model version for a tenant and turning answers into a decision.

Everything here is computed from the request, the tenant and the loaded models; nothing reads
or writes the database, so `POST /v1/classify` and `POST /v1/assessments` share it exactly.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.catalog.schemas import ClassifyRequest
from app.errors import FieldError, InvalidInput, NotFound, invalid, safe_name
from app.segmentation.catalog import ModelVersion
from app.segmentation.registry import ModelRegistry
from app.segmentation.rules import Classification, classify, validate_answers
from app.tenants import Tenant

# Model versions are valid from a calendar day in Finland.
FINLAND = ZoneInfo("Europe/Helsinki")


@dataclass(frozen=True)
class Decision:
    model: ModelVersion
    classification: Classification
    effective_at: datetime
    decided_code: int


def tenant_model_ids(tenant: Tenant, registry: ModelRegistry) -> list[str]:
    return [m for m in tenant.models if registry.get_versions(m)]


def model_for_tenant(registry: ModelRegistry, tenant: Tenant, model_id: str) -> str:
    """The model id if this tenant may use it; 404 otherwise, as for any unknown resource."""
    if model_id not in tenant.models or not registry.get_versions(model_id):
        raise NotFound("No such model is available to this tenant.")
    return model_id


def choose_version(
    registry: ModelRegistry,
    tenant: Tenant,
    model_id: str | None,
    version: str | None,
    effective_at: datetime,
) -> ModelVersion:
    model_id = model_id or tenant.default_model
    if model_id not in tenant.models or not registry.get_versions(model_id):
        raise invalid("model", "not a model this tenant uses; one of " + ", ".join(tenant.models))
    if version is not None:
        pinned = registry.version(model_id, version)
        if pinned is None:
            known = ", ".join(v.version for v in registry.get_versions(model_id))
            raise invalid("model_version", f"not a version of {model_id}; one of {known}")
        if pinned.valid_from > effective_at.astimezone(FINLAND).date():
            raise invalid(
                "model_version",
                f"{model_id} {pinned.version} is in force only from "
                f"{pinned.valid_from.isoformat()}, after effective_at",
            )
        return pinned
    in_force = registry.in_force(model_id, effective_at.astimezone(FINLAND).date())
    if in_force is None:
        first = registry.get_versions(model_id)[0].valid_from
        raise invalid("effective_at", f"{model_id} is in force only from {first.isoformat()}")
    return in_force


def decide(
    registry: ModelRegistry, tenant: Tenant, body: ClassifyRequest, now: datetime
) -> Decision:
    """Validate the answers, classify, and check the professional's decision against it."""
    effective_at = body.effective_at or now
    if effective_at > now:
        raise invalid("effective_at", "must not be in the future")
    model = choose_version(registry, tenant, body.model, body.model_version, effective_at)
    problems = validate_answers(model, body.answers)
    if problems:
        raise InvalidInput(
            [
                FieldError(".".join(["answers", *map(safe_name, p.path)]), p.message)
                for p in problems
            ]
        )
    classification = classify(model, body.answers)
    decided = body.decided_segment
    if decided is None:
        decided = classification.segment.code
    errors: list[FieldError] = []
    if model.segment_by_code(decided) is None:
        codes = ", ".join(str(s.code) for s in model.segments)
        errors.append(FieldError("decided_segment", f"expected one of {codes}"))
    elif decided != classification.segment.code and body.override_reason is None:
        errors.append(
            FieldError(
                "override_reason",
                "required when decided_segment differs from the suggested segment "
                f"{classification.segment.code}",
            )
        )
    if errors:
        raise InvalidInput(errors)
    return Decision(model, classification, effective_at.astimezone(now.tzinfo), decided)
