"""The one JSON serializer: typed results (frozen dataclasses, enums, paths) to JSON-ready values.

Every `--json` output and every JSON file mlgit writes goes through `plain`, so a result type is turned into
JSON in one way: dataclass fields in declaration order, enums as their values, tuples as lists. A type says
how its JSON differs from its fields in its own declaration, never in a hand-written dict:

- `field(metadata=key("name"))` gives a field another JSON key, `metadata=OMIT` leaves it out, and
  `metadata=TEXT` writes it as its text (`str`, e.g. a version);
- `metadata=SPREAD` on a mapping field writes its items in the type's own object, in place of the field;
- a class attribute `JSON_COMPUTED = {"key": "attribute"}` adds values the type computes (properties such
  as a verdict), before the fields.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

OMIT: Mapping[str, Any] = {"json": None}
TEXT: Mapping[str, Any] = {"text": True}
SPREAD: Mapping[str, Any] = {"spread": True}


def key(name: str) -> Mapping[str, Any]:
    """Field metadata: write the field under another JSON key."""
    return {"json": name}


def plain(value: Any) -> Any:
    """A JSON-ready copy of `value`."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _dataclass(value)
    if isinstance(value, Mapping):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, PurePath):
        return str(value)
    return value


def _dataclass(value: Any) -> dict[str, Any]:
    out = {name: plain(getattr(value, attr)) for name, attr in getattr(value, "JSON_COMPUTED", {}).items()}
    for f in dataclasses.fields(value):
        name = f.metadata.get("json", f.name)
        if f.name.startswith("_") or name is None:
            continue
        item = getattr(value, f.name)
        if f.metadata.get("spread"):
            out.update(plain(item))
            continue
        out[name] = (None if item is None else str(item)) if f.metadata.get("text") else plain(item)
    return out


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """`value` as JSON text (no trailing newline)."""
    return json.dumps(plain(value), indent=indent, default=str)
