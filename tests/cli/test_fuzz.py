"""Fuzzing mlgit.yaml, schema files and metrics/params files: whatever they hold, mlgit exits 0, 1 or 2.

Each example starts from a valid file and replaces one value anywhere in it (or deletes it, or appends a
hostile YAML snippet, or pads it past the size cap, or writes raw bytes), then runs the command that reads it.
Asserted: no traceback, no exit 3, bounded work shown by counts (a file past the byte cap and an alias bomb
past the node budget are refused, each naming its bound), and on a failure no file of the repository (work
tree and .git, but mlgit's caches) changed. The budget is a fixed number of examples, derandomized, so the
suite is the same on every run and in `make test`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgit.system import files, yamlsource
from testing.repos import commit_all, tree_digest

BUDGET = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,  # bounds are counts (tests/test_bounds.py), never times
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# The byte cap of config, schema and values files while fuzzing: small, so a file past it costs little to write.
CAP = 16 * 1024
BOMB = "b0: &b0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9)}]\n" for i in range(1, 10)
)  # 9**10 values once expanded
SNIPPETS = [
    "x: &x [*x]\n",
    "x: !!float 'abc'\n",
    "x: !!int '12z'\n",
    "x: !!python/object:os.system ls\n",
    "x: !!binary 'a'\n",
    "x: 2020-13-45\n",
    "x: " + "9" * 5000 + "\n",
    "x: " + "[" * 200 + "]" * 200 + "\n",
    BOMB,
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
    kind = draw(st.sampled_from(["value", "value", "delete", "snippet", "bytes", "huge"]))
    if kind == "bytes":
        return draw(st.binary(max_size=120))
    if kind == "huge":  # valid but for its size: a trailing comment past the cap
        return (original + "#" + "x" * (CAP - len(original.encode()) + draw(st.integers(0, 64))) + "\n").encode()
    if kind == "snippet":
        return (original + draw(st.sampled_from(SNIPPETS))).encode()
    doc = yaml.safe_load(original)
    paths = list(_paths(doc))[1:] if kind == "delete" else list(_paths(doc))
    path = draw(st.sampled_from(paths))
    doc = _mutated(doc, path, draw(values), kind == "delete")
    return yaml.safe_dump(doc, allow_unicode=draw(st.booleans())).encode()


def bound_hit(rel: str, raw: bytes, *, yaml_file: bool) -> str | None:
    """The refusal `raw` must meet when `rel` holds it: the byte cap, or for YAML the node budget; else None."""
    if len(raw) > CAP:
        return f"{rel}: {len(raw):,} bytes; a file of this kind may hold at most {CAP:,} bytes"
    if yaml_file and BOMB.encode() in raw:
        return f"more than {yamlsource.MAX_NODES:,} values"
    return None


def _run(repo: Path, mlgit: Any, *args: str, refused: str | None = None) -> None:
    before = tree_digest(repo)
    r = mlgit(repo, *args)
    assert r.code in (0, 1, 2), r.err
    assert "Traceback" not in r.err and "unexpected error" not in r.err, r.err
    if refused is not None:  # the work stopped at its bound, which the message names
        # (`check schema` reports an unreadable schema as its failed check, exit 1; elsewhere it is exit 2)
        assert r.code in (1, 2) and refused in r.out + r.err, (refused, r.out, r.err)
    if r.code != 0:
        assert tree_digest(repo) == before, r.err


@pytest.fixture
def fuzz_repo(small_repo: Path, mlgit: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MAX_CONFIG_BYTES", "MAX_SCHEMA_BYTES", "MAX_VALUES_BYTES"):
        monkeypatch.setattr(files, name, CAP)
    assert mlgit(small_repo, "schema", "infer", "table").code == 0
    commit_all(small_repo, "schema")  # the base has the schema, so an unchanged one passes
    return small_repo


@BUDGET
@given(data=st.data())
def test_any_mlgit_yaml(fuzz_repo: Path, mlgit: Any, data: st.DataObject) -> None:
    original = (fuzz_repo / "mlgit.yaml").read_text()
    try:
        raw = data.draw(variants(original))
        (fuzz_repo / "mlgit.yaml").write_bytes(raw)
        _run(fuzz_repo, mlgit, "metrics", "diff", refused=bound_hit("mlgit.yaml", raw, yaml_file=True))
    finally:
        (fuzz_repo / "mlgit.yaml").write_text(original)


@BUDGET
@given(data=st.data())
def test_any_schema_file(fuzz_repo: Path, mlgit: Any, data: st.DataObject) -> None:
    path = fuzz_repo / "schemas" / "table.schema.yaml"
    original = path.read_text()
    try:
        raw = data.draw(variants(original))
        path.write_bytes(raw)
        refused = bound_hit("schemas/table.schema.yaml", raw, yaml_file=True)
        _run(fuzz_repo, mlgit, "check", "schema", refused=refused)
    finally:
        path.write_text(original)


@BUDGET
@given(data=st.data())
def test_any_metrics_and_params(fuzz_repo: Path, mlgit: Any, data: st.DataObject) -> None:
    metrics, params = fuzz_repo / "metrics.json", fuzz_repo / "params.yaml"
    saved = metrics.read_text(), params.read_text()
    which = data.draw(st.sampled_from(["metrics", "params", "both"]))
    try:
        raw, params_raw = saved[0].encode(), saved[1].encode()
        if which != "params":
            raw = data.draw(variants(saved[0]))
            if b"&" not in raw and data.draw(st.booleans()):  # mostly JSON again when the change left a document
                try:
                    raw = json.dumps(yaml.safe_load(raw), default=str).encode()
                except (yaml.YAMLError, ValueError, RecursionError):
                    pass
        if which != "metrics":
            params_raw = data.draw(variants(saved[1]))
        metrics.write_bytes(raw)
        params.write_bytes(params_raw)
        # With one file changed, a bound it passes is the one refusal (with both, the first file read wins).
        refused = {
            "metrics": bound_hit("metrics.json", raw, yaml_file=False),
            "params": bound_hit("params.yaml", params_raw, yaml_file=True),
        }.get(which)
        _run(fuzz_repo, mlgit, "metrics", "diff", refused=refused)
    finally:
        metrics.write_text(saved[0])
        params.write_text(saved[1])


# -- data files: CSV, JSONL and Parquet bytes (read by `check data` and `schema infer`) -------------------------

DATA_CONFIG = """\
version: 1
datasets:
  c:
    path: data/c.csv
  j:
    path: data/j.jsonl
  p:
    path: data/p.parquet
ci:
  default_branch: main
"""
DATA_FILES = {"c": "data/c.csv", "j": "data/j.jsonl", "p": "data/p.parquet"}
HOSTILE_CELLS = [
    "",
    '"',
    '""',
    "a,b",
    "a\nb",
    "\r",
    "\x00",
    "::warning file=x::INJECTED",
    "\x1b[31m",
    "nan",
    "-inf",
    "1e309",
    "9" * 400,
    "2020-13-45",
    "true",
    "\ufeff",
    "\u202e",
    "z" * 5000,
]


def _frame_rows(n: int = 30) -> list[dict[str, Any]]:
    return [{"id": i, "x": i / 7, "cat": "abc"[i % 3], "ok": i % 2 == 0} for i in range(1, n + 1)]


@pytest.fixture
def data_repo(tmp_path: Path, mlgit: Any) -> Path:
    """A git repository with one CSV, one JSONL and one Parquet dataset, their schemas committed."""
    import polars as pl

    from testing.datarepo import make_repo

    frame = pl.DataFrame(_frame_rows())
    repo = make_repo(tmp_path, {"data/c.csv": frame.write_csv()}, DATA_CONFIG)
    (repo / "data" / "j.jsonl").write_text(frame.write_ndjson())
    frame.write_parquet(repo / "data" / "p.parquet", statistics=False)
    assert mlgit(repo, "schema", "infer").code == 0
    commit_all(repo, "data and schemas")
    return repo


def _csv_variant(draw: st.DrawFn, original: bytes) -> bytes:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(original.decode())))
    r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows[0]) - 1))
    change = draw(st.sampled_from(["cell", "cell", "extra-field", "short-row", "drop-row", "encode"]))
    if change == "cell":
        rows[r][c] = draw(st.sampled_from(HOSTILE_CELLS) | st.text(max_size=8))
    elif change == "extra-field":
        rows[r].append(draw(st.sampled_from(HOSTILE_CELLS)))
    elif change == "short-row":
        rows[r] = rows[r][:c]
    elif change == "drop-row":
        del rows[r]
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"]))).writerows(rows)
    text = out.getvalue()
    if change == "encode":
        return text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "latin-1", "utf-8-sig"])), "replace")
    return text.encode()


def _jsonl_variant(draw: st.DrawFn, original: bytes) -> bytes:
    lines = original.decode().splitlines()
    i = draw(st.integers(0, len(lines) - 1))
    change = draw(st.sampled_from(["value", "value", "line", "drop-key"]))
    record = json.loads(lines[i])
    key = draw(st.sampled_from(sorted(record)))
    if change == "value":
        record[key] = draw(values)
        lines[i] = json.dumps(record, allow_nan=True)
    elif change == "drop-key":
        del record[key]
        lines[i] = json.dumps(record)
    else:
        lines[i] = draw(st.sampled_from(['{"id": ', "[1, 2]", "null", '{"id": NaN}', "{" * 5000, '{"": 1}']))
    return ("\n".join(lines) + draw(st.sampled_from(["\n", ""]))).encode()


def _parquet_variant(draw: st.DrawFn, original: bytes) -> bytes:
    change = draw(st.sampled_from(["flip", "flip", "truncate", "frame"]))
    if change == "truncate":
        return original[: draw(st.integers(0, len(original) - 1))]
    if change == "flip":
        at = draw(st.integers(0, len(original) - 1))
        return original[:at] + bytes([original[at] ^ draw(st.integers(1, 255))]) + original[at + 1 :]
    import io

    import polars as pl

    rows = _frame_rows(draw(st.integers(0, 5)))
    for row in rows:
        row[draw(st.sampled_from(sorted(row)))] = draw(st.sampled_from(["", "::warning::x", None]))
    buf = io.BytesIO()
    pl.DataFrame(rows, schema={"id": pl.String, "x": pl.String, "cat": pl.String, "ok": pl.String}).write_parquet(buf)
    return buf.getvalue()


@st.composite
def data_variants(draw: st.DrawFn, name: str, original: bytes) -> bytes:
    """The bytes of a data file derived from `original` by one hostile change."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    variant = {"c": _csv_variant, "j": _jsonl_variant, "p": _parquet_variant}[name]
    return variant(draw, original)


@BUDGET
@given(data=st.data())
def test_any_data_file(data_repo: Path, mlgit: Any, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(DATA_FILES)))
    path = data_repo / DATA_FILES[name]
    schemas = {p: p.read_bytes() for p in (data_repo / "schemas").iterdir()}
    original = path.read_bytes()
    try:
        path.write_bytes(data.draw(data_variants(name, original)))
        _run(data_repo, mlgit, "check", "data", name, "--no-cache")
        _run(data_repo, mlgit, "schema", "infer", name, "--force")
    finally:
        path.write_bytes(original)
        for p, content in schemas.items():
            p.write_bytes(content)
