"""Tenants (wellbeing services counties): default model, allowed models, wording overrides.

Configured in a TOML file (`SEGMENTTI_TENANTS_FILE`, default the shipped `app/tenants.toml`) and
checked against the loaded models at start, like the model files themselves.
"""

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.segmentation.catalog import ModelFileError
from app.segmentation.overrides import apply_overrides
from app.segmentation.registry import ModelRegistry

_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class TenantsFileError(ModelFileError):
    """The tenants file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Tenant:
    id: str
    default_model: str
    models: tuple[str, ...]
    # model id → overrides of that model's texts; see docs/tenants.md
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # every model, the tenant's own with its wording laid over them
    registry: ModelRegistry = field(default_factory=lambda: ModelRegistry({}))


def _tenant_registry(
    registry: ModelRegistry, models: list[str], overrides: Mapping[str, Any], where: str
) -> ModelRegistry:
    return ModelRegistry(
        {
            model_id: tuple(
                apply_overrides(version, overrides[model_id], f"{where}.overrides.{model_id}")
                if model_id in overrides
                else version
                for version in registry.get_versions(model_id)
            )
            # Every model stays readable: an assessment stored under a model the tenant no
            # longer offers must still be shown; `models` limits only what new ones may use.
            for model_id in registry.ids()
        }
    )


def load_tenants(path: Path, registry: ModelRegistry) -> dict[str, Tenant]:
    def fail(where: str, problem: str) -> TenantsFileError:
        return TenantsFileError(f"{path}: {where}: {problem}")

    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise fail("file", f"cannot be read ({type(exc).__name__}: {exc})") from exc
    tenants_raw = raw.get("tenants")
    if not isinstance(tenants_raw, dict) or not tenants_raw:
        raise fail("tenants", "expected at least one [tenants.<id>] table")
    tenants: dict[str, Tenant] = {}
    for tenant_id, conf in tenants_raw.items():
        where = f"tenants.{tenant_id}"
        if not _TENANT_ID.match(tenant_id):
            raise fail(where, "a tenant id uses lower-case letters, digits and - only")
        if not isinstance(conf, dict):
            raise fail(where, "expected a table")
        unknown = sorted(set(conf) - {"default_model", "models", "overrides"})
        if unknown:
            raise fail(where, f"unknown keys {', '.join(unknown)}")
        models = conf.get("models")
        if (
            not isinstance(models, list)
            or not models
            or not all(isinstance(m, str) for m in models)
        ):
            raise fail(f"{where}.models", "expected a non-empty list of model ids")
        for model_id in models:
            if not registry.get_versions(model_id):
                raise fail(f"{where}.models", f"unknown model {model_id!r}")
        default = conf.get("default_model")
        if not isinstance(default, str) or default not in models:
            raise fail(f"{where}.default_model", "must be one of the tenant's models")
        overrides = conf.get("overrides", {})
        if not isinstance(overrides, dict) or any(m not in models for m in overrides):
            raise fail(f"{where}.overrides", "keys must be models the tenant uses")
        try:
            own_registry = _tenant_registry(registry, models, overrides, where)
        except ModelFileError as exc:
            raise TenantsFileError(f"{path}: {exc}") from exc
        tenants[tenant_id] = Tenant(
            id=tenant_id,
            default_model=default,
            models=tuple(models),
            overrides=MappingProxyType(overrides),
            registry=own_registry,
        )
    return tenants
