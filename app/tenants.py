"""Tenants (wellbeing services counties): models, wording and local policy.

Configured in a TOML file (`SEGMENTTI_TENANTS_FILE`, default the shipped `app/tenants.toml`,
docs/tenants.md) and checked against the loaded models at start, like the model files
themselves. What a county decides for itself rather than what its material says — wording
of its own, re-assessment intervals, a register numbering — lives here, not in the models.
"""

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.segmentation.catalog import LANGUAGES, ModelFileError, ModelVersion, Text
from app.segmentation.overrides import apply_overrides, apply_reassessment, apply_register
from app.segmentation.registry import ModelRegistry

_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TENANT_KEYS = {
    "default_model",
    "models",
    "overrides",
    "reassess_after_days",
    "register_codes",
    "export_min_age",
    "targets",
}


class TenantsFileError(ModelFileError):
    """The tenants file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Tenant:
    id: str
    default_model: str
    models: tuple[str, ...]
    # Roll-out scope of exports: clients at least this old on the day of the export (a client
    # without an identity code has no known age, and is exported only where this is unset).
    export_min_age: int | None = None
    # every model, with the tenant's wording and policies laid over them
    registry: ModelRegistry = field(default_factory=lambda: ModelRegistry({}))
    # model id → segment key → the share of the model's clients the county aims at
    targets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def _per_version(
    registry: ModelRegistry, table: Mapping[str, Any], model_id: str, where: str
) -> tuple[str, ...]:
    """The versions a per-model table applies to: named, so that it never carries silently
    into a revised model."""
    versions = table.get("versions")
    if not isinstance(versions, list) or not versions:
        raise ModelFileError(f"{where}.versions: name the version(s) this applies to")
    known = {v.version for v in registry.get_versions(model_id)}
    unknown = sorted(set(versions) - known)
    if unknown:
        raise ModelFileError(f"{where}.versions: {model_id} has no version {', '.join(unknown)}")
    return tuple(versions)


def _text(raw: Any, where: str) -> Text:
    if (
        not isinstance(raw, dict)
        or set(raw) != set(LANGUAGES)
        or not all(isinstance(t, str) and t.strip() for t in raw.values())
    ):
        raise ModelFileError(f"{where}: expected a table of non-empty fi, sv, en texts")
    return MappingProxyType({lang: raw[lang] for lang in LANGUAGES})


def _tenant_version(
    registry: ModelRegistry, conf: Mapping[str, Any], version: ModelVersion, where: str
) -> ModelVersion:
    model_id = version.id
    overrides = conf.get("overrides", {}).get(model_id)
    if overrides is not None:
        here = f"{where}.overrides.{model_id}"
        if version.version in _per_version(registry, overrides, model_id, here):
            texts = {k: v for k, v in overrides.items() if k != "versions"}
            version = apply_overrides(version, texts, here)
    intervals = conf.get("reassess_after_days", {}).get(model_id)
    if intervals is not None:
        version = apply_reassessment(version, intervals, f"{where}.reassess_after_days.{model_id}")
    register = conf.get("register_codes", {}).get(model_id)
    if register is not None:
        here = f"{where}.register_codes.{model_id}"
        if version.version in _per_version(registry, register, model_id, here):
            codes = {k: v for k, v in register.items() if k not in ("versions", "note")}
            version = apply_register(
                version, codes, _text(register.get("note"), f"{here}.note"), here
            )
    return version


def _tenant_registry(registry: ModelRegistry, conf: Mapping[str, Any], where: str) -> ModelRegistry:
    for key in ("overrides", "reassess_after_days", "register_codes"):
        table = conf.get(key, {})
        if not isinstance(table, dict) or any(m not in conf["models"] for m in table):
            raise ModelFileError(f"{where}.{key}: keys must be models the tenant uses")
        for model_id, value in table.items():
            if not isinstance(value, dict):
                raise ModelFileError(f"{where}.{key}.{model_id}: expected a table")
    return ModelRegistry(
        {
            # Every model stays readable: an assessment stored under a model the tenant no
            # longer offers must still be shown; `models` limits only what new ones may use.
            model_id: tuple(
                _tenant_version(registry, conf, version, where)
                for version in registry.get_versions(model_id)
            )
            for model_id in registry.ids()
        }
    )


def _targets(
    registry: ModelRegistry, conf: Mapping[str, Any], where: str
) -> Mapping[str, Mapping[str, float]]:
    """Target shares per segment key, for every version of the model: each a share of the
    model's clients between 0 and 1, together at most 1."""
    table = conf.get("targets", {})
    if not isinstance(table, dict) or any(m not in conf["models"] for m in table):
        raise ModelFileError(f"{where}.targets: keys must be models the tenant uses")
    targets: dict[str, Mapping[str, float]] = {}
    for model_id, shares in table.items():
        here = f"{where}.targets.{model_id}"
        if not isinstance(shares, dict) or not shares:
            raise ModelFileError(f"{here}: expected a table of segment keys and shares")
        for version in registry.get_versions(model_id):
            unknown = sorted(set(shares) - {s.key for s in version.segments})
            if unknown:
                raise ModelFileError(
                    f"{here}: {model_id} {version.version} has no segment {', '.join(unknown)}"
                )
        for key, share in shares.items():
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
                raise ModelFileError(f"{here}.{key}: expected a share from 0 to 1, e.g. 0.8")
        if sum(shares.values()) > 1:
            raise ModelFileError(f"{here}: the shares add up to more than 1")
        targets[model_id] = MappingProxyType({k: float(v) for k, v in shares.items()})
    return MappingProxyType(targets)


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
        unknown = sorted(set(conf) - TENANT_KEYS)
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
        try:
            own_registry = _tenant_registry(registry, conf, where)
            targets = _targets(registry, conf, where)
        except ModelFileError as exc:
            raise TenantsFileError(f"{path}: {exc}") from exc
        min_age = conf.get("export_min_age")
        if min_age is not None and (
            isinstance(min_age, bool) or not isinstance(min_age, int) or not 0 <= min_age <= 150
        ):
            raise fail(f"{where}.export_min_age", "expected a whole number of years, 0 to 150")
        tenants[tenant_id] = Tenant(
            id=tenant_id,
            default_model=default,
            models=tuple(models),
            export_min_age=min_age,
            registry=own_registry,
            targets=targets,
        )
    return tenants
