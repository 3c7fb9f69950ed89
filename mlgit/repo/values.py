"""Metrics and params files (JSON, YAML, TOML) parsed into flat `dotted.key -> value` maps."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from mlgit.errors import InputError, MlgitError
from mlgit.system import files, yamlsource

# A metric or parameter value as a metrics or params file holds it (not a data-schema bound: data.schema.Scalar).
ParamValue = int | float | str | bool | None


@dataclass(frozen=True)
class ValueFile:
    """One metrics or params file at one revision; `values` is None when the file is absent."""

    path: str
    values: dict[str, ParamValue] | None
    why: str | None = None  # when absent: why it could not be read at that revision, and the fix

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


MAX_DEPTH = 64  # nesting of a metrics/params file; past it a file is not a set of named values
MAX_INT_DIGITS = 100


class _Refused(ValueError):
    """A JSON value past a bound (raised from the decoder's hooks, which cannot name the file)."""


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer with {len(text.lstrip('-')):,} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate key {key!r} (JSON would keep only the last)")
        out[key] = value
    return out


def _load_json(raw: bytes, label: str) -> Any:
    try:
        return json.loads(raw, parse_int=_json_int, object_pairs_hook=_json_object)
    except UnicodeDecodeError:
        raise MlgitError(f"{label}: not UTF-8 text{_encoding_hint(raw)}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}{_encoding_hint(raw)}", file=label, line=exc.lineno) from None
    except _Refused as exc:
        line, key = _long_integer_at(raw.decode("utf-8"), tables=False) if "digits" in str(exc) else (None, None)
        raise InputError(f"refused: {exc}", file=label, line=line, key=key) from None
    except RecursionError:
        raise InputError(f"refused: JSON nested deeper than {MAX_DEPTH} levels", file=label) from None


def _encoding_hint(raw: bytes) -> str:
    if files.looks_utf16(raw[:64]):
        return " (it looks like UTF-16; save it as UTF-8)"
    return ""


_LONG_DIGITS = re.compile(rf"[0-9][0-9_]{{{MAX_INT_DIGITS},}}")
_KEY_BEFORE = re.compile(r"""([A-Za-z0-9_.-]+|"(?:[^"\\]|\\.)*"|'[^']*')\s*$""")  # the key just before `=` / `:`


def _long_integer_at(text: str, *, tables: bool = True) -> tuple[int | None, str | None]:
    """The line, and the dotted key when the line assigns one, of the first digit run past MAX_INT_DIGITS.

    tomllib raises a bare ValueError for an integer past Python's 4,300-digit limit: no line, no key.
    """
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if tables and stripped.startswith("[") and "=" not in stripped:
            table = stripped.strip("[] \t")
            continue
        match = _LONG_DIGITS.search(line)
        if match:
            head, eq, _ = line[: match.start()].rpartition("=" if tables else ":")
            found = _KEY_BEFORE.search(head) if eq else None
            key = found.group().strip().strip("\"'") if found else None
            if key and table and head.count("=") == 0:  # `key = 9...` in a [table], not inside an inline table
                key = f"{table}.{key}"
            return number, key
    return None, None


def load_toml(raw: bytes, label: str) -> Any:
    """Parse TOML within bounds; a syntax or value error names the file (and, for a huge integer, line and key)."""
    import tomllib

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise MlgitError(f"{label}: not UTF-8 text{_encoding_hint(raw)}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MlgitError(f"{label}: invalid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"refused: TOML nested deeper than {MAX_DEPTH} levels", file=label) from None
    except ValueError:  # an integer past Python's digit limit
        line, key = _long_integer_at(raw.decode("utf-8"))
        raise InputError(
            f"refused: an integer with more than {MAX_INT_DIGITS} digits", file=label, line=line, key=key
        ) from None


def parse(path: str, raw: bytes, *, where: str = "") -> dict[str, ParamValue]:
    """Parse a metrics/params file and flatten nested keys with dots."""
    label = f"{path}{where}"
    kind = _kind(path)
    if not raw.strip():
        raise MlgitError(f"{label}: the file is empty")
    if kind == "json":
        data = _load_json(raw, label)
    elif kind == "yaml":
        data = yamlsource.load(raw, label)
    else:
        data = load_toml(raw, label)
    if not isinstance(data, dict):
        raise MlgitError(f"{label}: expected a mapping of names to values at the top level")
    flat: dict[str, ParamValue] = {}
    _flatten(data, "", flat, label, 1)
    return flat


def _flatten(node: dict[Any, Any] | list[Any], prefix: str, out: dict[str, ParamValue], label: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InputError(f"refused: {prefix.rstrip('.')[:80]} is nested deeper than {MAX_DEPTH} levels", file=label)
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, (dict, list)):
            _flatten(value, f"{name}.", out, label, depth + 1)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**MAX_INT_DIGITS:
            raise InputError(f"refused: an integer with more than {MAX_INT_DIGITS} digits", file=label, key=name)
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
