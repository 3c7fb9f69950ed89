"""YAML at file boundaries: fast safe loading, and line numbers for error messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlgit.errors import InputError, Problem


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: bytes | str, source: str) -> Any:
    """Parse YAML safely; a syntax error names the file and line."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - the loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"invalid YAML: {exc.problem or exc}", file=source, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=source) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=source) from None


def line_of(text: bytes | str, path: Sequence[str | int]) -> int | None:
    """The 1-based line where the value at a key path starts (the deepest key that exists)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=_loader())
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for knode, vnode in node.value:
                if knode.value == str(key):
                    line = knode.start_mark.line + 1
                    node = vnode
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def duplicate_keys(text: bytes | str) -> list[tuple[str, int]]:
    """(dotted key path, 1-based line) of every key that repeats within its mapping (YAML keeps the last)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=_loader())
    except yaml.YAMLError:
        return []
    found: list[tuple[str, int]] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for knode, vnode in node.value:
                key = str(knode.value)
                here = f"{path}.{key}" if path else key
                if key in seen:
                    found.append((here, knode.start_mark.line + 1))
                seen.add(key)
                walk(vnode, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}.{i}")

    walk(root, "")
    return found


def validation_problems(raw: bytes, source: str, errors: list[Any], reference: str) -> list[Problem]:
    """pydantic's errors, each placed at its file, line and key path (`reference`: where the keys are documented)."""
    problems = []
    for err in errors:
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-after"))]
        keypath = ".".join(str(p) for p in loc) or "(top level)"
        line = line_of(raw, loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (see {reference} for the keys allowed here)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        problems.append(Problem(msg, file=source, line=line or None, key=keypath))
    return problems
