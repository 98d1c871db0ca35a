"""All model versions the service knows, and which one is in force on a given day."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from app.segmentation.catalog import ModelFileError, ModelVersion
from app.segmentation.loader import load_model_file

BUILTIN_MODELS_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class ModelRegistry:
    versions: dict[str, tuple[ModelVersion, ...]]  # model id → versions, oldest first

    def ids(self) -> list[str]:
        return sorted(self.versions)

    def get_versions(self, model_id: str) -> tuple[ModelVersion, ...]:
        return self.versions.get(model_id, ())

    def version(self, model_id: str, version: str) -> ModelVersion | None:
        return next((m for m in self.get_versions(model_id) if m.version == version), None)

    @staticmethod
    def in_force_on(version: ModelVersion, day: date) -> bool:
        """Whether `day` is within the version's own span (a pinned version may be used then)."""
        until = version.valid_until
        return version.valid_from <= day and (until is None or day <= until)

    def in_force(self, model_id: str, day: date) -> ModelVersion | None:
        """The version in force on `day` when none is pinned: the newest that has begun by
        then, unless it has ended. An older version never comes back into force when a
        newer one ends; only pinning it (within its own span) uses it."""
        begun = [m for m in self.get_versions(model_id) if m.valid_from <= day]
        return begun[-1] if begun and self.in_force_on(begun[-1], day) else None

    def latest(self, model_id: str) -> ModelVersion | None:
        versions = self.get_versions(model_id)
        return versions[-1] if versions else None


def _model_files(directories: Iterable[Path]) -> list[Path]:
    return sorted(p for d in directories for p in d.glob("*/*.toml"))


def load_registry(extra_dir: Path | None = None) -> ModelRegistry:
    """Load every model file; any malformed file raises ModelFileError and nothing is loaded."""
    directories = [BUILTIN_MODELS_DIR] + ([extra_dir] if extra_dir else [])
    if extra_dir is not None and not extra_dir.is_dir():
        raise ModelFileError(f"{extra_dir}: SEGMENTTI_MODELS_DIR is not a directory")
    by_id: dict[str, list[ModelVersion]] = {}
    for path in _model_files(directories):
        model = load_model_file(path)
        if path.parent.name != model.id or path.stem != model.version:
            raise ModelFileError(
                f"{path}: file must be named <id>/<version>.toml, here "
                f"{model.id}/{model.version}.toml"
            )
        versions = by_id.setdefault(model.id, [])
        if any(v.version == model.version for v in versions):
            raise ModelFileError(f"{path}: version {model.version} of {model.id} is defined twice")
        if any(v.valid_from == model.valid_from for v in versions):
            raise ModelFileError(
                f"{path}: another version of {model.id} is valid from the same day"
            )
        versions.append(model)
    return ModelRegistry(
        {k: tuple(sorted(v, key=lambda m: m.valid_from)) for k, v in by_id.items()}
    )
