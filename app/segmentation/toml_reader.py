"""Reading one model file's tables, each problem named with the file and the key's path."""

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.segmentation.catalog import LANGUAGES, ModelFileError, Text

_MOVED = {
    "reassess_after_days": "re-assessment intervals are tenant policy now: "
    "[tenants.<id>.reassess_after_days.<model>] in the tenants file (docs/tenants.md)",
}


class Reader:
    """Reads one file's tables, raising ModelFileError with the path of the offending key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ModelFileError:
        return ModelFileError(f"{self.path}: {where}: {problem}")

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        where: str,
        required: bool = True,
    ) -> Any:
        if key not in table:
            if required:
                raise self.fail(f"{where}.{key}".lstrip("."), "missing")
            return None
        value = table[key]
        if isinstance(value, bool) and kind is int:
            raise self.fail(f"{where}.{key}".lstrip("."), "expected an integer")
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(f"{where}.{key}".lstrip("."), f"expected {names}")
        return value

    def optional_text(self, table: Mapping[str, Any], key: str, where: str) -> Text | None:
        return self.text(table, key, where) if key in table else None

    def text(self, table: Mapping[str, Any], key: str, where: str) -> Text:
        value = self.get(table, key, dict, where)
        here = f"{where}.{key}".lstrip(".")
        missing = [lang for lang in LANGUAGES if not str(value.get(lang, "")).strip()]
        if missing:
            raise self.fail(here, f"needs non-empty text in {', '.join(missing)}")
        extra = sorted(set(value) - set(LANGUAGES))
        if extra:
            raise self.fail(here, f"unknown languages {', '.join(extra)}")
        return MappingProxyType({lang: str(value[lang]) for lang in LANGUAGES})

    def texts(
        self, table: Mapping[str, Any], key: str, where: str, required: bool = True
    ) -> Mapping[str, Text]:
        value = self.get(table, key, dict, where, required) or {}
        here = f"{where}.{key}".lstrip(".")
        return MappingProxyType({k: self.text(value, k, here) for k in value})

    def unknown_keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in set(table) & set(_MOVED):
            raise self.fail(f"{where}.{key}".lstrip("."), _MOVED[key])
        extra = sorted(set(table) - allowed)
        if extra:
            raise self.fail(where or "file", f"unknown keys {', '.join(extra)}")

    def choice(
        self, table: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str
    ) -> str:
        value: str = self.get(table, key, str, where)
        if value not in allowed:
            raise self.fail(f"{where}.{key}".lstrip("."), "expected one of " + ", ".join(allowed))
        return value
