"""Metrics and params files (JSON, YAML, TOML) parsed into flat `dotted.key -> value` maps."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from mlgit.errors import InputError, MlgitError
from mlgit.system import yamlsource

# A metric or parameter value as a metrics or params file holds it (not a data-schema bound: data.schema.Scalar).
ParamValue = int | float | str | bool | None


@dataclass(frozen=True)
class ValueFile:
    """One metrics or params file at one revision; `values` is None when the file is absent."""

    path: str
    values: dict[str, ParamValue] | None

    @property
    def present(self) -> bool:
        """Whether the file exists at that revision."""
        return self.values is not None


def _kind(path: str) -> str:
    lower = path.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    if lower.endswith(".toml"):
        return "toml"
    raise MlgitError(f"{path}: unsupported file type; metrics and params files must be .json, .yaml, .yml or .toml")


def parse(path: str, raw: bytes, *, where: str = "") -> dict[str, ParamValue]:
    """Parse a metrics/params file and flatten nested keys with dots."""
    label = f"{path}{where}"
    kind = _kind(path)
    if not raw.strip():
        raise MlgitError(f"{label}: the file is empty")
    if kind == "json":
        try:
            data: Any = json.loads(raw)
        except UnicodeDecodeError:
            raise MlgitError(f"{label}: not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", file=label, line=exc.lineno) from None
    elif kind == "yaml":
        data = yamlsource.load(raw, label)
    else:
        import tomllib

        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise MlgitError(f"{label}: not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise MlgitError(f"{label}: invalid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise MlgitError(f"{label}: expected a mapping of names to values at the top level")
    flat: dict[str, ParamValue] = {}
    _flatten(data, "", flat)
    return flat


def _flatten(node: dict[Any, Any] | list[Any], prefix: str, out: dict[str, ParamValue]) -> None:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, (dict, list)):
            _flatten(value, f"{name}.", out)
        else:
            _put(out, name, value)


def _put(out: dict[str, ParamValue], key: str, value: Any) -> None:
    if isinstance(value, (int, float, str, bool)) or value is None:
        out[key] = value
    else:  # dates and other YAML scalars: keep them readable
        out[key] = str(value)


def number(value: ParamValue) -> float | None:
    """The value as a finite float, or None when it is not a usable number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None
