"""The committed data profile: per-column statistics and quantile sketches, small enough to keep in git.

`mlgit check data --base REV` compares the work tree's profile with the one committed at REV (read through
git), so drift is measured without pulling old data. The file is deterministic JSON, one column per line.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlgit.errors import MlgitError
from mlgit.results.status import Status

if TYPE_CHECKING:
    import polars as pl

VERSION = 1
# 51 points: every 2nd percentile; deciles (PSI bins) are among them.
QUANTILE_POINTS = tuple(i / 50 for i in range(51))
MAX_COUNTED_VALUES = 200


class ColumnKind(Status):
    """How a column is compared between two profiles (drift) or windows (monitor): by quantiles or by counts."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column; numeric columns carry quantiles, columns with allowed values carry counts."""

    name: str
    type: str
    count: int  # non-null values
    nulls: int
    nonfinite: int = 0
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: tuple[float, ...] | None = None
    sample: int = 0  # values the quantiles were computed from
    counts: tuple[tuple[str, int], ...] | None = None  # allowed value -> rows
    other: int = 0  # rows with a value outside `counts`


@dataclass(frozen=True)
class Profile:
    """A dataset's profile."""

    dataset: str
    path: str
    format: str
    md5: str | None
    rows: int
    columns: tuple[ColumnProfile, ...]
    actual: tuple[tuple[str, str], ...] = ()  # every column the data has, with its type, in file order

    def column(self, name: str) -> ColumnProfile | None:
        """The named column's profile."""
        return self._by_name.get(name)

    @functools.cached_property
    def _by_name(self) -> dict[str, ColumnProfile]:
        # One dict per profile: looking every column up by scanning was quadratic (20,000 columns: a minute).
        return {c.name: c for c in reversed(self.columns)}  # reversed: the first of a repeated name wins


def _round(v: float | None) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v:.6g}")


def _column_dict(c: ColumnProfile) -> dict[str, Any]:
    out: dict[str, Any] = {"type": c.type, "count": c.count, "nulls": c.nulls}
    if c.nonfinite:
        out["nonfinite"] = c.nonfinite
    for key in ("min", "max", "mean", "std"):
        value = getattr(c, key)
        if value is not None:
            out[key] = value
    if c.quantiles is not None:
        out["sample"] = c.sample
        out["quantiles"] = list(c.quantiles)
    if c.counts is not None:
        out["counts"] = dict(c.counts)
        out["other"] = c.other
    return out


def dumps(p: Profile) -> str:
    """The profile file's text: stable key order, one column per line, so diffs show what changed."""
    head = {"version": VERSION, "dataset": p.dataset, "source": {"path": p.path, "format": p.format, "md5": p.md5}}
    lines = ["{"]
    for key, value in head.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, sort_keys=True)},")
    lines.append(f'  "rows": {p.rows},')
    lines.append(f'  "actual_columns": {json.dumps(dict(p.actual))},')
    lines.append('  "columns": {')
    cols = [f"    {json.dumps(c.name)}: {json.dumps(_column_dict(c), sort_keys=True)}" for c in p.columns]
    lines.append(",\n".join(cols))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def loads(raw: bytes | str, source: str) -> Profile:
    """Parse a profile file; a damaged one is a clear error naming it."""
    try:
        data = json.loads(raw)
        src = data["source"]
        if data.get("version") != VERSION:
            raise MlgitError(f"{source}: profile version {data.get('version')!r} is not {VERSION}")
        columns = []
        for name, c in data["columns"].items():
            counts = c.get("counts")
            columns.append(
                ColumnProfile(
                    name=name,
                    type=c["type"],
                    count=int(c["count"]),
                    nulls=int(c["nulls"]),
                    nonfinite=int(c.get("nonfinite", 0)),
                    min=c.get("min"),
                    max=c.get("max"),
                    mean=c.get("mean"),
                    std=c.get("std"),
                    quantiles=tuple(float(q) for q in c["quantiles"]) if "quantiles" in c else None,
                    sample=int(c.get("sample", 0)),
                    counts=tuple((str(k), int(v)) for k, v in counts.items()) if counts is not None else None,
                    other=int(c.get("other", 0)),
                )
            )
        actual = tuple((str(k), str(v)) for k, v in (data.get("actual_columns") or {}).items())
        return Profile(
            data["dataset"], src["path"], src["format"], src.get("md5"), int(data["rows"]), tuple(columns), actual
        )
    except MlgitError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MlgitError(
            f"{source}: not a valid mlgit profile ({type(exc).__name__}: {exc})",
            hint="run 'mlgit check data' to write it again, and commit it",
        ) from None


# -- building ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What to profile for one column: its schema type and the allowed values to count (if any)."""

    name: str
    type: str
    values: tuple[Any, ...] | None = None
    stats: bool = True  # numeric statistics and quantiles (off for ids: their distribution means nothing)

    @property
    def numeric(self) -> bool:
        """Whether min/max/mean/std and a quantile sketch describe this column."""
        return self.type in ("int", "float") and self.values is None and self.stats


def _alias(i: int, stat: str) -> str:
    return f"\x1fp{i}\x1f{stat}"


def expressions(specs: list[Spec], exprs: Mapping[str, pl.Expr]) -> list[pl.Expr]:
    """Streaming aggregates for the profile, to run in the same pass as the checks."""

    out: list[pl.Expr] = []
    for i, s in enumerate(specs):
        c = exprs[s.name]
        out.append(c.null_count().alias(_alias(i, "nulls")))
        if s.numeric:
            # Plain aggregates stream fastest; a NaN or inf makes the mean undefined and the profile says so
            # (non-finite values are counted by the check). The std comes from the quantiles' sample.
            out += [c.min().alias(_alias(i, "min")), c.max().alias(_alias(i, "max")), c.mean().alias(_alias(i, "mean"))]
        elif s.type in ("date", "datetime"):
            out += [c.min().alias(_alias(i, "min")), c.max().alias(_alias(i, "max"))]
        if s.values is not None and len(s.values) <= MAX_COUNTED_VALUES:
            out += [(c == v).sum().alias(_alias(i, f"v{j}")) for j, v in enumerate(s.values)]
    return out


def _quantiles(values: pl.Series) -> tuple[tuple[float, ...], int, float | None] | None:
    import polars as pl

    if values.dtype == pl.String:
        values = values.str.strip_chars().cast(pl.Float64, strict=False)
    values = values.cast(pl.Float64).drop_nulls()
    values = values.filter(values.is_finite()).sort()
    n = len(values)
    if n == 0:
        return None
    # Linear interpolation between order statistics (numpy's default), on an already sorted sample.
    out = []
    for p in QUANTILE_POINTS:
        pos = p * (n - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        a, b = float(values[lo]), float(values[hi])
        out.append(_round(a + (b - a) * (pos - lo)) or 0.0)
    std = values.std()
    return tuple(out), n, _round(float(std)) if isinstance(std, int | float) else None


def _iso(v: Any) -> str | None:
    return None if v is None else v.isoformat()


def build(
    dataset: str,
    path: str,
    fmt: str,
    md5: str | None,
    rows: int,
    specs: list[Spec],
    row: Mapping[str, Any],
    sample: pl.DataFrame | None,
    actual: tuple[tuple[str, str], ...] = (),
) -> Profile:
    """The profile from the aggregates' result row and a sample for the quantiles."""
    columns = []
    for i, s in enumerate(specs):
        nulls = int(row[_alias(i, "nulls")] or 0)
        kw: dict[str, Any] = {}
        if s.numeric:
            kw = {k: _round(row[_alias(i, k)]) for k in ("min", "max", "mean")}
            if sample is not None and s.name in sample.columns:
                q = _quantiles(sample[s.name])
                if q is not None:
                    kw["quantiles"], kw["sample"], kw["std"] = q
        elif s.type in ("date", "datetime"):
            kw = {"min": _iso(row[_alias(i, "min")]), "max": _iso(row[_alias(i, "max")])}
        if s.values is not None and len(s.values) <= MAX_COUNTED_VALUES:
            counts = tuple(
                (json.dumps(v) if not isinstance(v, str) else v, int(row[_alias(i, f"v{j}")] or 0))
                for j, v in enumerate(s.values)
            )
            kw["counts"] = counts
            kw["other"] = max(0, rows - nulls - sum(n for _, n in counts))
        columns.append(ColumnProfile(name=s.name, type=s.type, count=rows - nulls, nulls=nulls, **kw))
    return Profile(dataset, path, fmt, md5, rows, tuple(columns), actual)


def same(a: Profile, b: Profile) -> bool:
    """Equal up to the last digits of sums, which parallel reading may order differently."""
    if (a.dataset, a.path, a.format, a.md5, a.rows, a.actual) != (b.dataset, b.path, b.format, b.md5, b.rows, b.actual):
        return False
    if [c.name for c in a.columns] != [c.name for c in b.columns]:
        return False
    for x, y in zip(a.columns, b.columns, strict=True):
        exact = ("type", "count", "nulls", "nonfinite", "min", "max", "sample", "counts", "other", "quantiles")
        if any(getattr(x, k) != getattr(y, k) for k in exact):
            return False
        for k in ("mean", "std"):
            u, v = getattr(x, k), getattr(y, k)
            if (u is None) != (v is None) or (u is not None and not math.isclose(u, v, rel_tol=1e-4, abs_tol=1e-9)):
                return False
    return True
