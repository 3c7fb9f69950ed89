"""YAML at file boundaries: fast safe loading, and line numbers for error messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mlgit.errors import InputError, Problem

# Bounds on what one YAML file may make mlgit build: aliases are counted as the nodes they copy, so an
# alias bomb (each level repeating the one before) is refused after reading it once, in linear time.
MAX_NODES = 1_000_000  # a schema of 20,000 columns is about 200,000
MAX_DEPTH = 64
MAX_INT_DIGITS = 100


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_BOUNDED: Any = None


def _bounded_loader() -> Any:
    """The safe loader whose value errors (`!!float 'abc'`, a 5,000-digit integer) name the line."""
    global _BOUNDED
    if _BOUNDED is None:
        import yaml

        class Bounded(_loader()):  # type: ignore[misc]  # a class made at run time: yaml is imported lazily
            def construct_object(self, node: Any, deep: bool = False) -> Any:
                if node.tag == "tag:yaml.org,2002:int" and len(node.value.lstrip("+-")) > MAX_INT_DIGITS:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"an integer with more than {MAX_INT_DIGITS} digits", node.start_mark
                    )
                try:
                    return super().construct_object(node, deep=deep)
                except (ValueError, TypeError, OverflowError) as exc:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"bad {node.tag.rsplit(':', 1)[-1]} value {str(node.value)[:40]!r} ({exc})",
                        node.start_mark,
                    ) from None

        _BOUNDED = Bounded
    return _BOUNDED


def _check_size(text: bytes | str, source: str) -> None:
    """Refuse, from the parser's events alone, documents that expand past MAX_NODES or nest past MAX_DEPTH."""
    import yaml

    sizes: dict[str, int] = {}
    stack: list[tuple[str | None, list[int]]] = [(None, [0])]
    for event in yaml.parse(text, Loader=_loader()):
        size = 0
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append((event.anchor, [1]))
            if len(stack) > MAX_DEPTH + 1:
                _refuse(source, event, f"YAML nested deeper than {MAX_DEPTH} levels")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, (size,) = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in stack):
                _refuse(source, event, f"the alias *{event.anchor} refers to a value that contains it")
            size = sizes.get(event.anchor or "", 1)
        stack[-1][1][0] += size
        if stack[-1][1][0] > MAX_NODES:
            _refuse(
                source,
                event,
                f"YAML that expands to more than {MAX_NODES:,} values (an alias counts as what it copies)",
            )


def _refuse(source: str, event: Any, why: str) -> None:
    raise InputError(f"refused: {why}", file=source, line=event.start_mark.line + 1)


def load(text: bytes | str, source: str) -> Any:
    """Parse YAML safely and within bounds; a syntax or value error names the file and line."""
    import yaml

    try:
        _check_size(text, source)
        return yaml.load(text, Loader=_bounded_loader())  # noqa: S506 - the loader is a SafeLoader
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


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice a typo most likely meant (difflib's ratio of at least 0.6), or None.

    Only the first 5,000 choices are compared: a hint must stay cheap whatever a file holds.
    """
    import difflib
    import itertools

    found = difflib.get_close_matches(word[:200], list(itertools.islice(choices, 5000)), n=1, cutoff=0.6)
    return found[0] if found else None


def _expand(tp: Any) -> list[Any]:
    """The concrete types a field annotation may hold (Annotated and unions unwrapped)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _expand(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(tp) for t in _expand(arg)]
    return [tp]


def _step(tp: Any, part: str | int) -> list[Any]:
    import typing

    fields = getattr(tp, "model_fields", None)
    if isinstance(tp, type) and isinstance(fields, dict):
        for name, f in fields.items():
            if part in (name, f.alias):
                return _expand(f.annotation)
        return []
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return _expand(args[1])
    if origin is list and isinstance(part, int) and args:
        return _expand(args[0])
    return []


def keys_at(model: type, loc: Sequence[str | int]) -> list[str]:
    """The keys a pydantic `model` allows in the mapping at key path `loc` (what a typo is compared with)."""
    here: list[Any] = [model]
    for part in loc:
        # pydantic puts a union member's name in the path (`BaseSpec`, `list[...]`): not a key, so skip it.
        here = [t for tp in here for t in _step(tp, part)] or here
    keys = [
        f.alias or name
        for tp in here
        if isinstance(tp, type) and isinstance(getattr(tp, "model_fields", None), dict)
        for name, f in tp.model_fields.items()  # type: ignore[attr-defined]  # a pydantic model, checked above
    ]
    return list(dict.fromkeys(keys))


def validation_problems(
    raw: bytes, source: str, errors: list[Any], reference: str, model: type | None = None
) -> list[Problem]:
    """pydantic's errors, each placed at its file, line and key path (`reference`: where the keys are documented).

    With the root pydantic `model`, an unknown key names the allowed key it was probably meant to be.
    """
    problems = []
    for err in errors:
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-after"))]
        keypath = ".".join(str(p) for p in loc) or "(top level)"
        line = line_of(raw, loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            meant = closest(str(loc[-1]), keys_at(model, loc[:-1])) if model is not None and loc else None
            guess = f"; did you mean '{meant}'?" if meant else ""
            msg = f"unknown key{guess} (see {reference} for the keys allowed here)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        problems.append(Problem(msg, file=source, line=line or None, key=keypath))
    return problems
