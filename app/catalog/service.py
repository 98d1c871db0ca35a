"""Choosing the model version for a tenant and turning answers into a decision.

Everything here is computed from the request, the tenant and the loaded models; nothing reads
or writes the database, so `POST /v1/classify` and `POST /v1/assessments` share it exactly.
"""

from dataclasses import dataclass
from datetime import date, datetime
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
    *,
    recorded_on: date | None = None,
) -> ModelVersion:
    """The version an assessment taking effect at `effective_at` is made under: the pinned
    one or the one in force then. A new assessment (`recorded_on` given) may not use a version
    withdrawn by that day; an imported historical decision may."""
    model_id = model_id or tenant.default_model
    if model_id not in tenant.models or not registry.get_versions(model_id):
        raise invalid("model", "not a model this tenant uses; one of " + ", ".join(tenant.models))
    day = effective_at.astimezone(FINLAND).date()
    if version is not None:
        chosen = registry.version(model_id, version)
        if chosen is None:
            known = ", ".join(v.version for v in registry.get_versions(model_id))
            raise invalid("model_version", f"not a version of {model_id}; one of {known}")
        if not registry.in_force_on(chosen, day):
            raise invalid(
                "model_version", f"{model_id} {chosen.version} is {_validity(registry, chosen)}"
            )
        field = "model_version"
    else:
        in_force = registry.in_force(model_id, day)
        if in_force is None:
            spans = "; ".join(
                f"{v.version} {_validity(registry, v)}" for v in registry.get_versions(model_id)
            )
            raise invalid("effective_at", f"no version of {model_id} is in force then ({spans})")
        chosen, field = in_force, "effective_at"
    if recorded_on is not None and chosen.withdrawn_at(recorded_on):
        assert chosen.withdrawn_on is not None
        raise invalid(
            field,
            f"{model_id} {chosen.version} was withdrawn for new assessments on "
            f"{chosen.withdrawn_on.isoformat()}",
        )
    return chosen


def _validity(registry: ModelRegistry, version: ModelVersion) -> str:
    """The version's span, and when a newer one took over by default."""
    later = [v for v in registry.get_versions(version.id) if v.valid_from > version.valid_from]
    end = version.valid_until
    until = f" until {end.isoformat()}" if end else ""
    if later and (end is None or end >= later[0].valid_from):
        until += f" (by default {later[0].version} from {later[0].valid_from.isoformat()})"
    return f"in force from {version.valid_from.isoformat()}{until}"


def decide(
    registry: ModelRegistry, tenant: Tenant, body: ClassifyRequest, now: datetime
) -> Decision:
    """Validate the answers, classify, and check the professional's decision against it."""
    effective_at = body.effective_at or now
    if effective_at > now:
        raise invalid("effective_at", "must not be in the future")
    model = choose_version(
        registry,
        tenant,
        body.model,
        body.model_version,
        effective_at,
        recorded_on=now.astimezone(FINLAND).date(),
    )
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
