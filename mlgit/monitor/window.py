"""A window profile: production traffic counted in the bins of the release's training profile.

A numeric column is counted in the bins the training profile's quantile sketch draws (its distinct quantile
values are the edges, plus a bin below the first and one at or above the last); a categorical column in the
training profile's values plus "other". Counts, nulls, minima and maxima of two windows with the same edges
add up exactly (`merge`), so a day is the sum of its hours and each window stays a few KB whatever the
traffic. To measure drift, a window is read back as a `ColumnProfile` whose quantile sketch is the inverse of
its binned distribution function (uniform within each bin), and handed to the data checks' drift engine.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mlgit.data.profile import QUANTILE_POINTS, ColumnKind, ColumnProfile
from mlgit.errors import InputError

if TYPE_CHECKING:
    import polars as pl

SCHEMA = "mlgit.window/1"
NUMERIC = ColumnKind.NUMERIC
CATEGORICAL = ColumnKind.CATEGORICAL
# Latency buckets (ms): 10 per decade from 0.01 ms to 100 s, fixed so every window's histogram merges.
LATENCY_EDGES = tuple(round(10 ** (k / 10), 6) for k in range(-20, 51))
_FLUSH = 65_536  # values buffered per column before they are binned in one vectorised call


@dataclass(frozen=True)
class Binned:
    """One column of a window: counts in fixed bins (numeric) or per value (categorical)."""

    kind: ColumnKind
    counts: tuple[int, ...] = ()  # numeric: len(edges) + 1 bins
    edges: tuple[float, ...] = ()
    values: tuple[tuple[str, int], ...] = ()  # categorical: value -> rows (the reference's values, then new ones)
    other: int = 0  # categorical: rows whose value the reference does not count
    nulls: int = 0
    nonfinite: int = 0
    min: float | None = None
    max: float | None = None
    total: float = 0.0  # sum of finite values (means are shown, never judged)

    @property
    def count(self) -> int:
        """Non-null, finite values counted."""
        return sum(self.counts) if self.kind is NUMERIC else sum(n for _, n in self.values) + self.other

    def merged(self, other: Binned, name: str) -> Binned:
        """The column over both windows; refused when their bins differ (other releases' references)."""
        if self.kind != other.kind or self.edges != other.edges:
            raise InputError(f"column {name!r}: the windows were counted in different bins (another reference)")
        if self.kind is NUMERIC:
            counts = tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
            values: tuple[tuple[str, int], ...] = ()
        else:
            mine = dict(self.values)
            for k, n in other.values:
                mine[k] = mine.get(k, 0) + n
            counts, values = (), tuple(mine.items())
        lows = [v for v in (self.min, other.min) if v is not None]
        highs = [v for v in (self.max, other.max) if v is not None]
        return replace(
            self,
            counts=counts,
            values=values,
            other=self.other + other.other,
            nulls=self.nulls + other.nulls,
            nonfinite=self.nonfinite + other.nonfinite,
            min=min(lows) if lows else None,
            max=max(highs) if highs else None,
            total=float(f"{self.total + other.total:.12g}"),
        )

    def profile(self, name: str) -> ColumnProfile:
        """This column as the drift engine reads a profile column (quantiles from the binned distribution)."""
        n = self.count
        if self.kind is CATEGORICAL:
            return ColumnProfile(
                name=name, type="string", count=n, nulls=self.nulls, counts=self.values, other=self.other
            )
        quantiles = sketch(self.edges, self.counts, self.min, self.max) if n else None
        mean = self.total / n if n else None
        return ColumnProfile(
            name=name,
            type="float",
            count=n,
            nulls=self.nulls,
            nonfinite=self.nonfinite,
            min=self.min,
            max=self.max,
            mean=mean,
            std=_std(quantiles),
            quantiles=quantiles,
            sample=n,
        )


def _std(quantiles: tuple[float, ...] | None) -> float | None:
    if not quantiles:
        return None
    # The standard deviation of the quantile function (trapezoids): what the Wasserstein measure scales by.
    mids = [(a + b) / 2 for a, b in itertools.pairwise(quantiles)]
    mean = sum(mids) / len(mids)
    return math.sqrt(sum((m - mean) ** 2 for m in mids) / len(mids))


def sketch(edges: Sequence[float], counts: Sequence[int], low: float | None, high: float | None) -> tuple[float, ...]:
    """The 51-point quantile sketch of a binned distribution, values spread uniformly within each bin.

    The outer bins reach to the window's own minimum and maximum, so a shift past the training range shows.
    """
    n = sum(counts)
    knots = [low if low is not None else edges[0], *edges, high if high is not None else edges[-1]]
    # Bin i spans knots[i]..knots[i+1]; an outer bin whose extreme lies inside the edges has no width.
    knots[0] = min(knots[0], knots[1])
    knots[-1] = max(knots[-1], knots[-2])
    cum = [0]
    for c in counts:
        cum.append(cum[-1] + c)
    out = []
    for p in QUANTILE_POINTS:
        target = p * n
        i = min(max(bisect.bisect_left(cum, target) - 1, 0), len(counts) - 1)
        while i < len(counts) - 1 and counts[i] == 0:
            i += 1
        inside = (target - cum[i]) / counts[i] if counts[i] else 0.0
        value = knots[i] + (knots[i + 1] - knots[i]) * min(max(inside, 0.0), 1.0)
        out.append(float(f"{value:.6g}"))
    return tuple(out)


# -- counting ------------------------------------------------------------------------------------------------


@dataclass
class NumericCounter:
    """Counts values into fixed bins; values are buffered and binned in batches (polars), so memory is flat."""

    edges: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    buffer: array[float] = field(default_factory=lambda: array("d"))
    nulls: int = 0
    nonfinite: int = 0
    low: float = math.inf
    high: float = -math.inf
    total: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.edges) + 1)

    def add(self, value: float | None) -> None:
        if value is None:
            self.nulls += 1
        elif not math.isfinite(value):
            self.nonfinite += 1
        else:
            self.buffer.append(value)
            if len(self.buffer) >= _FLUSH:
                self.flush()

    def add_series(self, series: pl.Series) -> None:
        """Many values at once (a column of a table log), counted exactly as `add` counts them one by one."""
        import polars as pl

        values = series.cast(pl.Float64)
        self.nulls += values.null_count()
        values = values.drop_nulls()
        finite = values.is_finite()
        self.nonfinite += int((~finite).sum())
        self.flush()
        self._bin(values.filter(finite))

    def flush(self) -> None:
        if not self.buffer:
            return
        import polars as pl

        self._bin(pl.Series("v", self.buffer, dtype=pl.Float64))
        self.buffer = array("d")

    def _bin(self, values: pl.Series) -> None:
        import polars as pl

        if values.is_empty():
            return
        self.low = min(self.low, float(values.min()))  # type: ignore[arg-type]  # a non-empty float series has a float min
        self.high = max(self.high, float(values.max()))  # type: ignore[arg-type]  # likewise its max
        self.total += float(values.sum())
        index = pl.Series("e", self.edges, dtype=pl.Float64).search_sorted(values, side="right")
        for i, n in index.value_counts().iter_rows():
            self.counts[int(i)] += int(n)

    def result(self) -> Binned:
        self.flush()
        seen = sum(self.counts) > 0
        return Binned(
            kind=NUMERIC,
            counts=tuple(self.counts),
            edges=self.edges,
            nulls=self.nulls,
            nonfinite=self.nonfinite,
            min=float(f"{self.low:.6g}") if seen else None,
            max=float(f"{self.high:.6g}") if seen else None,
            total=float(f"{self.total:.12g}"),
        )


@dataclass
class CategoryCounter:
    """Counts values of a categorical column: the reference's values first, new values after them."""

    known: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    nulls: int = 0
    spill: int = 0  # rows of new values past `limit` distinct ones
    limit: int = 200  # distinct new values kept by name; the rest only counted as other

    def __post_init__(self) -> None:
        self.counts = dict.fromkeys(self.known, 0)

    def add(self, value: str | None) -> None:
        if value is None:
            self.nulls += 1
        elif value in self.counts:
            self.counts[value] += 1
        elif value in self.new or len(self.new) < self.limit:
            self.new[value] = self.new.get(value, 0) + 1
        else:
            self.spill += 1

    def result(self, keep_new: bool = False) -> Binned:
        """The column; new values count as other unless `keep_new` (prediction classes have no reference)."""
        if keep_new:
            values = tuple(sorted({**self.counts, **self.new}.items()))
            return Binned(kind=CATEGORICAL, values=values, other=self.spill, nulls=self.nulls)
        values = tuple(self.counts.items())
        return Binned(kind=CATEGORICAL, values=values, other=sum(self.new.values()) + self.spill, nulls=self.nulls)

    @property
    def unseen(self) -> dict[str, int]:
        """Values the reference never counted, with their rows."""
        return dict(self.new)


def category(value: Any) -> str | None:
    """A categorical value as the profile writes its keys (JSON text for non-strings)."""
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


# -- the window ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One window of traffic for one release."""

    model: str
    release: str  # vX.Y.Z
    commit: str
    reference: str  # the training profile's path at the release commit
    start: str  # ISO 8601, UTC
    end: str
    requests: int
    rows: int
    errors: int  # requests answered with status >= 400
    latency: tuple[int, ...]  # counts in LATENCY_EDGES' bins (len + 1)
    inputs: tuple[tuple[str, Binned], ...]
    predictions: tuple[tuple[str, Binned], ...]
    violations: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()  # column -> (kind -> rows)

    @property
    def name(self) -> str:
        """The file stem: `<start>--<end>` in compact UTC (sorts by time)."""
        return f"{_compact(self.start)}--{_compact(self.end)}"

    def column(self, name: str, predictions: bool = False) -> Binned | None:
        """An input (or prediction) column."""
        return dict(self.predictions if predictions else self.inputs).get(name)


def _compact(iso: str) -> str:
    return iso.replace("-", "").replace(":", "").replace(".000", "")


def latency_quantile(counts: Sequence[int], p: float) -> float | None:
    """The p-quantile of a latency histogram: the upper edge of the bucket holding it (never optimistic)."""
    n = sum(counts)
    if n == 0:
        return None
    target = p * n
    seen = 0
    for i, c in enumerate(counts):
        seen += c
        if seen >= target and c:
            return LATENCY_EDGES[min(i, len(LATENCY_EDGES) - 1)]
    return LATENCY_EDGES[-1]


def merge(windows: Sequence[Window]) -> Window:
    """Windows of one release as one: every count added, the span from the first start to the last end."""
    if not windows:
        raise InputError("no windows to merge")
    first = windows[0]
    for w in windows[1:]:
        if (w.model, w.release, w.reference) != (first.model, first.release, first.reference):
            raise InputError(f"window {w.name} is of {w.model} {w.release}, not {first.model} {first.release}")
    return Window(
        model=first.model,
        release=first.release,
        commit=first.commit,
        reference=first.reference,
        start=min(w.start for w in windows),
        end=max(w.end for w in windows),
        requests=sum(w.requests for w in windows),
        rows=sum(w.rows for w in windows),
        errors=sum(w.errors for w in windows),
        latency=tuple(sum(c) for c in zip(*(w.latency for w in windows), strict=True)),
        inputs=_merge_columns([w.inputs for w in windows]),
        predictions=_merge_columns([w.predictions for w in windows]),
        violations=_merge_violations([w.violations for w in windows]),
    )


def _merge_columns(groups: Iterable[tuple[tuple[str, Binned], ...]]) -> tuple[tuple[str, Binned], ...]:
    out: dict[str, Binned] = {}
    for group in groups:
        for name, col in group:
            out[name] = out[name].merged(col, name) if name in out else col
    return tuple(out.items())


def _merge_violations(
    groups: Iterable[tuple[tuple[str, tuple[tuple[str, int], ...]], ...]],
) -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
    out: dict[str, dict[str, int]] = {}
    for group in groups:
        for name, kinds in group:
            mine = out.setdefault(name, {})
            for kind, n in kinds:
                mine[kind] = mine.get(kind, 0) + n
    return tuple((k, tuple(v.items())) for k, v in out.items())


# -- the file --------------------------------------------------------------------------------------------------


def _binned_dict(b: Binned) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": b.kind.value, "nulls": b.nulls}
    if b.kind is NUMERIC:
        out.update(edges=list(b.edges), counts=list(b.counts), nonfinite=b.nonfinite, total=b.total)
        out.update(min=b.min, max=b.max)
    else:
        out.update(values=dict(b.values), other=b.other)
    return out


def dumps(w: Window) -> str:
    """Deterministic JSON, one column per line: the same traffic gives the same bytes."""
    head = {
        "schema": SCHEMA,
        "model": w.model,
        "release": w.release,
        "commit": w.commit,
        "reference": w.reference,
        "start": w.start,
        "end": w.end,
        "requests": w.requests,
        "rows": w.rows,
        "errors": w.errors,
        "latency_ms": {"edges": list(LATENCY_EDGES), "counts": list(w.latency)},
        "violations": {k: dict(v) for k, v in w.violations},
    }
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}," for k, v in head.items()]
    for key, cols in (("inputs", w.inputs), ("predictions", w.predictions)):
        body = ",\n".join(f"    {json.dumps(n)}: {json.dumps(_binned_dict(b), sort_keys=True)}" for n, b in cols)
        lines.append(f'  "{key}": {{' + (f"\n{body}\n  " if body else "") + "}" + ("," if key == "inputs" else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _binned(d: Mapping[str, Any]) -> Binned:
    if d["kind"] == NUMERIC.value:
        edges = tuple(float(e) for e in d["edges"])
        counts = tuple(int(c) for c in d["counts"])
        if len(counts) != len(edges) + 1:
            raise ValueError("counts must have one more entry than edges")
        return Binned(
            kind=NUMERIC,
            counts=counts,
            edges=edges,
            nulls=int(d["nulls"]),
            nonfinite=int(d.get("nonfinite", 0)),
            min=None if d.get("min") is None else float(d["min"]),
            max=None if d.get("max") is None else float(d["max"]),
            total=float(d.get("total", 0.0)),
        )
    if d["kind"] != CATEGORICAL.value:
        raise ValueError(f"unknown column kind {d['kind']!r}")
    values = tuple((str(k), int(v)) for k, v in d["values"].items())
    return Binned(kind=CATEGORICAL, values=values, other=int(d["other"]), nulls=int(d["nulls"]))


def loads(raw: bytes | str, source: str) -> Window:
    """Parse a window file; a damaged one is one clear error naming it."""
    try:
        d = json.loads(raw)
        if d.get("schema") != SCHEMA:
            raise ValueError(f"schema is {d.get('schema')!r}, not {SCHEMA}")
        latency = d["latency_ms"]
        if [round(float(e), 6) for e in latency["edges"]] != list(LATENCY_EDGES):
            raise ValueError("latency buckets differ from this mlgit's")
        if len(latency["counts"]) != len(LATENCY_EDGES) + 1:
            raise ValueError("latency counts must have one more entry than edges")
        return Window(
            model=str(d["model"]),
            release=str(d["release"]),
            commit=str(d["commit"]),
            reference=str(d["reference"]),
            start=str(d["start"]),
            end=str(d["end"]),
            requests=int(d["requests"]),
            rows=int(d["rows"]),
            errors=int(d["errors"]),
            latency=tuple(int(c) for c in latency["counts"]),
            inputs=tuple((str(k), _binned(v)) for k, v in d["inputs"].items()),
            predictions=tuple((str(k), _binned(v)) for k, v in d["predictions"].items()),
            violations=tuple(
                (str(k), tuple((str(a), int(b)) for a, b in v.items())) for k, v in d["violations"].items()
            ),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{source}: not a valid mlgit window profile ({type(exc).__name__}: {exc})") from None
