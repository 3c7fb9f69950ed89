"""The one JSON serializer: typed results (frozen dataclasses, enums, paths) to JSON-ready values.

Every `--json` output and every JSON file mlgit writes goes through `plain`, so a result type is turned into
JSON in one way: dataclass fields in declaration order, enums as their values, tuples as lists.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any


def plain(value: Any) -> Any:
    """A JSON-ready copy of `value`."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
    if isinstance(value, Mapping):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, PurePath):
        return str(value)
    return value


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """`value` as JSON text (no trailing newline)."""
    return json.dumps(plain(value), indent=indent, default=str)
