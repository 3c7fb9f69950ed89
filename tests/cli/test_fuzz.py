"""Fuzzing mlgit.yaml, schema files and metrics/params files: whatever they hold, mlgit exits 0, 1 or 2.

Each example starts from a valid file and replaces one value anywhere in it (or deletes it, or appends a
hostile YAML snippet, or writes raw bytes), then runs the command that reads it. Asserted: no traceback,
no exit 3, and on a failure no file of the work tree changed. The budget is a fixed number of examples,
derandomized, so the suite is the same on every run and in `make test`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing.repos import commit_all

BUDGET = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,  # bounds are counts (tests/test_bounds.py), never times
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SNIPPETS = [
    "x: &x [*x]\n",
    "x: !!float 'abc'\n",
    "x: !!int '12z'\n",
    "x: !!python/object:os.system ls\n",
    "x: !!binary 'a'\n",
    "x: 2020-13-45\n",
    "x: " + "9" * 5000 + "\n",
    "x: " + "[" * 200 + "]" * 200 + "\n",
    "b0: &b0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    + "".join(f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9)}]\n" for i in range(1, 10)),
    "\t- tab\n",
    "x: *undefined\n",
    "? [a, b]\n: c\n",
    "--- 1\n--- 2\n",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**120), max_value=10**120),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "::warning::x", "../../etc/passwd", "/dev/zero", "a" * 300, "main", "v1.0.0"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _paths(value, (*prefix, key))


def _mutated(doc: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    *parent_path, last = path
    node = doc
    for key in parent_path:
        node = node[key]
    if delete:
        del node[last]
    else:
        node[last] = value
    return doc


@st.composite
def variants(draw: st.DrawFn, original: str) -> bytes:
    """The text of a file derived from `original` by one hostile change."""
    kind = draw(st.sampled_from(["value", "value", "delete", "snippet", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=120))
    if kind == "snippet":
        return (original + draw(st.sampled_from(SNIPPETS))).encode()
    doc = yaml.safe_load(original)
    paths = list(_paths(doc))[1:] if kind == "delete" else list(_paths(doc))
    path = draw(st.sampled_from(paths))
    doc = _mutated(doc, path, draw(values), kind == "delete")
    return yaml.safe_dump(doc, allow_unicode=draw(st.booleans())).encode()


def _tree(repo: Path) -> dict[str, str]:
    return {
        str(p.relative_to(repo)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in repo.rglob("*")
        if p.is_file() and not p.is_symlink() and ".git" not in p.relative_to(repo).parts
    }


def _run(repo: Path, mlgit: Any, *args: str) -> None:
    before = _tree(repo)
    r = mlgit(repo, *args)
    assert r.code in (0, 1, 2), r.err
    assert "Traceback" not in r.err and "unexpected error" not in r.err, r.err
    if r.code != 0:
        assert _tree(repo) == before, r.err


@pytest.fixture
def fuzz_repo(small_repo: Path, mlgit: Any) -> Path:
    assert mlgit(small_repo, "schema", "infer", "table").code == 0
    commit_all(small_repo, "schema")  # the base has the schema, so an unchanged one passes
    return small_repo


@BUDGET
@given(data=st.data())
def test_any_mlgit_yaml(fuzz_repo: Path, mlgit: Any, data: st.DataObject) -> None:
    original = (fuzz_repo / "mlgit.yaml").read_text()
    try:
        (fuzz_repo / "mlgit.yaml").write_bytes(data.draw(variants(original)))
        _run(fuzz_repo, mlgit, "metrics", "diff")
    finally:
        (fuzz_repo / "mlgit.yaml").write_text(original)


@BUDGET
@given(data=st.data())
def test_any_schema_file(fuzz_repo: Path, mlgit: Any, data: st.DataObject) -> None:
    path = fuzz_repo / "schemas" / "table.schema.yaml"
    original = path.read_text()
    try:
        path.write_bytes(data.draw(variants(original)))
        _run(fuzz_repo, mlgit, "check", "schema")
    finally:
        path.write_text(original)


@BUDGET
@given(data=st.data())
def test_any_metrics_and_params(fuzz_repo: Path, mlgit: Any, data: st.DataObject) -> None:
    metrics, params = fuzz_repo / "metrics.json", fuzz_repo / "params.yaml"
    saved = metrics.read_text(), params.read_text()
    try:
        raw = data.draw(variants(saved[0]))
        if b"&" not in raw and data.draw(st.booleans()):  # mostly JSON again when the change left a document
            try:
                raw = json.dumps(yaml.safe_load(raw), default=str).encode()
            except (yaml.YAMLError, ValueError, RecursionError):
                pass
        metrics.write_bytes(raw)
        params.write_bytes(data.draw(variants(saved[1])))
        _run(fuzz_repo, mlgit, "metrics", "diff")
    finally:
        metrics.write_text(saved[0])
        params.write_text(saved[1])
