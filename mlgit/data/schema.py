"""The schema file of a dataset (`schemas/<name>.schema.yaml`): parsed at the boundary, frozen values inside.

The file is written by `mlgit schema infer`, reviewed and committed; `mlgit check data` validates the data
against it and `mlgit check schema` compares it with the base revision. Rendering is deterministic: the same
schema gives byte-identical text.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgit import __version__
from mlgit.errors import ConfigError
from mlgit.system import jsoncache, yamlsource

TYPES = ("int", "float", "string", "bool", "date", "datetime", "other")
NUMERIC = frozenset({"int", "float"})
ORDERED = frozenset({"int", "float", "date", "datetime"})

# Breaking changes, by the name an `accepted_breaking:` entry gives them (`mlgit check schema`).
BREAKING = ("column-removed", "type-changed", "values-removed", "nulls-allowed", "unique-dropped")

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Column:
    """What one column must satisfy."""

    name: str
    type: str
    nullable: bool = True
    max_null_fraction: float | None = None
    min: Scalar | None = None
    max: Scalar | None = None
    values: tuple[Scalar, ...] | None = None
    unique: bool = False
    regex: str | None = None
    finite: bool = True  # NaN and +-inf are errors unless false
    description: str | None = None


@dataclass(frozen=True)
class Acceptance:
    """A breaking change a reviewer accepted in the diff of the schema file."""

    change: str
    column: str | None
    reason: str
    line: int | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        """What the acceptance matches: (change, column)."""
        return (self.change, self.column)


@dataclass(frozen=True)
class Schema:
    """A dataset's schema; `lines` maps key paths (`columns.x.min`) to 1-based lines of the file."""

    columns: tuple[Column, ...]
    rows_min: int | None = None
    rows_max: int | None = None
    dataset: str | None = None
    accepted: tuple[Acceptance, ...] = ()
    path: str = ""
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    def column(self, name: str) -> Column | None:
        """The named column, if declared."""
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def names(self) -> tuple[str, ...]:
        """Declared column names, in file order."""
        return tuple(c.name for c in self.columns)

    def line(self, *keys: str) -> int | None:
        """The line of the deepest existing key of a path (`line("columns", "x", "min")`)."""
        for n in range(len(keys), 0, -1):
            found = self.lines.get(".".join(keys[:n]))
            if found is not None:
                return found
        return None


def profile_path(schema_path: str) -> str:
    """Where the committed data profile lives: beside the schema file."""
    stem = schema_path.removesuffix(".yaml").removesuffix(".yml").removesuffix(".schema")
    return f"{stem}.profile.json"


# -- parsing ---------------------------------------------------------------------------------------------


def line_map(raw: bytes, cache_dir: Path | None = None) -> dict[str, int]:
    """Key paths (`columns.x.min`) to 1-based lines, without validating (cheap: no pydantic).

    With `cache_dir` (the repository's .git/mlgit), read back by content from a JSON cache: no YAML import.
    """
    entry = None
    if cache_dir is not None:
        digest = hashlib.sha256(b"lines/1\0" + raw).hexdigest()[:40]
        entry = cache_dir / "values" / f"lines-{digest}.json"
        cached = jsoncache.get(entry)
        if isinstance(cached, dict) and all(isinstance(v, int) for v in cached.values()):
            return cached
    found = _line_map(raw)
    jsoncache.put(entry, found)
    return found


def _line_map(raw: bytes) -> dict[str, int]:
    import yaml

    try:
        node = yaml.compose(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(n: Any, prefix: str, depth: int) -> None:
        if depth > 3:
            return
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = f"{prefix}{k.value}"
                lines[key] = k.start_mark.line + 1
                walk(v, key + ".", depth + 1)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                key = f"{prefix}{i}"
                lines[key] = v.start_mark.line + 1
                walk(v, key + ".", depth + 1)

    if node is not None:
        walk(node, "", 0)
    return lines


def _validate(raw: bytes, source: str) -> dict[str, Any]:
    data = yamlsource.load(raw, source)
    if data is None:
        raise ConfigError(f"{source} is empty", hint="run 'mlgit schema infer --force' to write it again")
    if not isinstance(data, dict):
        raise ConfigError(
            "the top level must be a mapping (version, rows, columns, accepted_breaking)", file=source, line=1
        )
    from pydantic import ValidationError

    from mlgit.data import schema_format

    try:
        return schema_format.SchemaFile.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        problems = yamlsource.validation_problems(
            raw, source, exc.errors(), "the README's schema file reference", schema_format.SchemaFile
        )
        raise ConfigError("invalid schema file", problems=problems) from None


def _cached(raw: bytes, source: str, cache_dir: Path | None) -> dict[str, Any]:
    if cache_dir is None:
        return _validate(raw, source)
    # Validation imports pydantic (~0.1 s); a file already validated is read back from a small JSON cache.
    fmt = Path(__file__).with_name("schema_format.py").read_bytes()
    key = hashlib.sha256(__version__.encode() + b"\0" + fmt + b"\0" + source.encode() + b"\0" + raw).hexdigest()
    path = cache_dir / f"schema-{key[:32]}.json"
    cached = jsoncache.get(path)
    if isinstance(cached, dict):
        return cached
    data = _validate(raw, source)
    jsoncache.put(path, data)
    return data


def parse(raw: bytes, source: str, cache_dir: Path | None = None) -> Schema:
    """Validate a schema file's text; every error names the file, line and key path (exit 2)."""
    spec = _cached(raw, source, cache_dir)
    lines = line_map(raw, cache_dir)
    columns = tuple(
        Column(
            name=name,
            type=c["type"],
            nullable=c["nullable"],
            max_null_fraction=c["max_null_fraction"],
            min=c["min"],
            max=c["max"],
            values=tuple(c["values"]) if c["values"] is not None else None,
            unique=c["unique"],
            regex=c["regex"],
            finite=c["finite"],
            description=c["description"],
        )
        for name, c in spec["columns"].items()
    )
    accepted = tuple(
        Acceptance(a["change"], a["column"], a["reason"], lines.get(f"accepted_breaking.{i}"))
        for i, a in enumerate(spec["accepted_breaking"])
    )
    return Schema(
        columns=columns,
        rows_min=spec["rows"]["min"],
        rows_max=spec["rows"]["max"],
        dataset=spec["dataset"],
        accepted=accepted,
        path=source,
        lines=lines,
    )


# -- rendering -------------------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = frozenset("y n yes no true false on off null".split())


def _key(name: str) -> str:
    if _PLAIN_KEY.match(name) and name.lower() not in _YAML_WORDS:
        return name
    return json.dumps(name, ensure_ascii=False)


def scalar(value: Scalar | None) -> str:
    """A YAML scalar that reads back as the same value and type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        # PyYAML reads `1e-05` as a string: its float grammar needs a dot in the mantissa.
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    return json.dumps(value, ensure_ascii=False)


def render(schema: Schema, header: tuple[str, ...] = ()) -> str:
    """The schema file's text (comments from `header` first)."""
    out = [f"# {line}" if line else "#" for line in header]
    out.append("version: 1")
    if schema.dataset is not None:
        out.append(f"dataset: {_key(schema.dataset)}")
    if schema.rows_min is not None or schema.rows_max is not None:
        out.append("rows:")
        if schema.rows_min is not None:
            out.append(f"  min: {schema.rows_min}")
        if schema.rows_max is not None:
            out.append(f"  max: {schema.rows_max}")
    out.append("columns:" if schema.columns else "columns: {}")
    for c in schema.columns:
        out += _column_lines(c)
    out.append("# Breaking changes this change accepts ('mlgit check schema'), each with the reason:")
    out.append("#   - {change: column-removed, column: NAME, reason: why downstream is fine}")
    if schema.accepted:
        out.append("accepted_breaking:")
        for a in schema.accepted:
            column = f", column: {_key(a.column)}" if a.column is not None else ""
            out.append(f"  - {{change: {a.change}{column}, reason: {scalar(a.reason)}}}")
    else:
        out.append("accepted_breaking: []")
    return "\n".join(out) + "\n"


def _column_lines(c: Column) -> list[str]:
    out = [f"  {_key(c.name)}:", f"    type: {c.type}"]
    if c.description is not None:
        out.append(f"    description: {scalar(c.description)}")
    out.append(f"    nullable: {scalar(c.nullable)}")
    optional = (("max_null_fraction", c.max_null_fraction), ("min", c.min), ("max", c.max))
    out += [f"    {key}: {scalar(value)}" for key, value in optional if value is not None]
    if c.values is not None:
        out.append(f"    values: [{', '.join(scalar(v) for v in c.values)}]")
    if c.unique:
        out.append("    unique: true")
    if c.regex is not None:
        out.append(f"    regex: {scalar(c.regex)}")
    if not c.finite:
        out.append("    finite: false")
    return out
