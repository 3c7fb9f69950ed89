"""Requests of one release in one time window, counted into a window profile in one pass.

Inputs are counted in the bins of the release's training profile and checked against its schema file (as
the release commit has them); predictions are counted in the bins of the release's reference window (its
first stored one) or, for that first window itself, in bins drawn from its own quantiles.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mlgit.data.profile import QUANTILE_POINTS, Profile
from mlgit.data.schema import Column, Schema
from mlgit.monitor import vectorised
from mlgit.monitor import window as windows
from mlgit.monitor.logs import LogTable, Request, Skipped
from mlgit.monitor.window import LATENCY_EDGES, Binned, CategoryCounter, NumericCounter, Window

MAX_LABELLED = 2_000_000  # request ids kept for the labels join


@dataclass(frozen=True)
class WindowTarget:
    """What the window is counted against."""

    model: str
    release: str
    commit: str
    reference: str  # the training profile's path
    profile: Profile
    schema: Schema | None
    prediction_bins: dict[str, tuple[float, ...]]  # output column -> edges, from the reference window
    start: datetime | None
    end: datetime | None


@dataclass
class _OwnBins:
    """A prediction column without reference bins: values kept, binned at its own quantiles at the end."""

    values: array[float] = field(default_factory=lambda: array("d"))
    nulls: int = 0
    nonfinite: int = 0

    def add(self, value: float | None) -> None:
        if value is None:
            self.nulls += 1
        elif not math.isfinite(value):
            self.nonfinite += 1
        else:
            self.values.append(value)

    def result(self) -> Binned:
        ordered = sorted(self.values)
        n = len(ordered)
        edges: tuple[float, ...] = ()
        if n:
            points = [ordered[min(n - 1, round(p * (n - 1)))] for p in QUANTILE_POINTS]
            edges = tuple(sorted({float(f"{v:.6g}") for v in points}))
        counter = NumericCounter(edges or (0.0,))
        for v in ordered:
            counter.add(v)
        counter.nulls, counter.nonfinite = self.nulls, self.nonfinite
        return counter.result()


@dataclass
class Counts:
    """What one pass over the logs gathers."""

    requests: int = 0
    rows: int = 0
    errors: int = 0
    first: datetime | None = None
    last: datetime | None = None
    other_version: dict[str, int] = field(default_factory=dict)
    outside: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_EDGES) + 1))
    violations: dict[str, dict[str, int]] = field(default_factory=dict)
    samples: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    predicted: dict[str, Any] = field(default_factory=dict)  # request id -> predicted value (one-row requests)

    def violate(self, column: str, kind: str, value: Any = None) -> None:
        per = self.violations.setdefault(column, {})
        per[kind] = per.get(kind, 0) + 1
        seen = self.samples.setdefault((column, kind), [])
        if value is not None and len(seen) < 5 and value not in seen:
            seen.append(value)


def _number(value: Any) -> float | str | None:
    """A float, None (null), or 'bad' for a value that is not a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "bad"
    return float(value)


class Collector:
    """Counts requests into the window's columns and the schema violations they carry."""

    def __init__(self, target: WindowTarget, keep_predictions: bool) -> None:
        self.target = target
        self.keep = keep_predictions
        self.counts = Counts()
        self.numeric: dict[str, NumericCounter] = {}
        self.categorical: dict[str, CategoryCounter] = {}
        for c in target.profile.columns:
            if c.counts is not None:
                self.categorical[c.name] = CategoryCounter(tuple(k for k, _ in c.counts))
            elif c.quantiles is not None:
                self.numeric[c.name] = NumericCounter(tuple(sorted(set(c.quantiles))))
        self.schema = {c.name: c for c in target.schema.columns} if target.schema else {}
        self.outputs: dict[str, NumericCounter | CategoryCounter | _OwnBins] = {}
        self.unexpected: dict[str, int] = {}

    def add(self, req: Request) -> None:
        t = self.target
        c = self.counts
        if req.version is not None and req.version != t.release:
            c.other_version[req.version] = c.other_version.get(req.version, 0) + 1
            return
        if req.time is not None and (
            (t.start is not None and req.time < t.start) or (t.end is not None and req.time >= t.end)
        ):
            c.outside += 1
            return
        c.requests += 1
        if req.time is not None:
            c.first = req.time if c.first is None else min(c.first, req.time)
            c.last = req.time if c.last is None else max(c.last, req.time)
        if req.latency_ms is not None:
            c.latency[_bucket(req.latency_ms)] += 1
        if req.status >= 400:
            c.errors += 1
            return
        c.rows += req.rows
        for name, values in req.inputs.items():
            self._input(name, values)
        if req.outputs is not None:
            predicted = self._outputs(req.outputs, req.rows)
            if self.keep and req.id is not None and req.rows == 1 and len(c.predicted) < MAX_LABELLED:
                c.predicted[req.id] = predicted

    def _input(self, name: str, values: list[Any]) -> None:
        col = self.schema.get(name)
        if name in self.categorical:
            counter = self.categorical[name]
            for v in values:
                counter.add(windows.category(v))
                self._check(name, col, v)
        elif name in self.numeric:
            num = self.numeric[name]
            for v in values:
                x = _number(v)
                if x == "bad":
                    self.counts.violate(name, "type-mismatch", v)
                    continue
                assert not isinstance(x, str)
                num.add(x)
                self._check(name, col, x)
        elif col is not None:
            for v in values:
                self._check(name, col, v)
        else:
            self.unexpected[name] = self.unexpected.get(name, 0) + 1

    def _input_checks(self, name: str, col: Column, values: list[Any]) -> None:
        for v in values:
            self._check(name, col, v)

    def _check(self, name: str, col: Column | None, v: Any) -> None:
        if col is None:
            return
        if v is None:
            if not col.nullable:
                self.counts.violate(name, "nulls")
            return
        if isinstance(v, float) and not math.isfinite(v):
            if col.finite:
                self.counts.violate(name, "non-finite", str(v))
            return
        if (
            col.values is not None
            and v not in col.values
            and windows.category(v) not in [windows.category(x) for x in col.values]
        ):
            self.counts.violate(name, "unexpected-value", v)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            low, high = col.min, col.max
            if (isinstance(low, int | float) and v < low) or (isinstance(high, int | float) and v > high):
                self.counts.violate(name, "out-of-range", v)

    def _outputs(self, outputs: dict[str, list[Any]], rows: int) -> Any:
        predicted: Any = None
        for name, data in outputs.items():
            width = len(data) // rows if rows and len(data) % rows == 0 else 0
            if width == 0:
                self.counts.violate(name, "output-shape", len(data))
                continue
            if width == 1:
                for v in data:
                    self._output(name, v)
                predicted = data[0] if predicted is None else predicted
                continue
            for r in range(rows):
                row = data[r * width : (r + 1) * width]
                if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in row):
                    self.counts.violate(name, "output-type", str(row)[:40])
                    continue
                best = max(range(width), key=lambda i: row[i])
                self._output(f"{name}:class", str(best))
                self._output(f"{name}[{width - 1}]", float(row[-1]))
                predicted = best if predicted is None else predicted
        return predicted

    def _output(self, name: str, v: Any) -> None:
        counter = self.outputs.get(name)
        if counter is None:
            numeric = isinstance(v, float) or (
                isinstance(v, int) and not isinstance(v, bool) and name in self.target.prediction_bins
            )
            if numeric and name in self.target.prediction_bins:
                counter = NumericCounter(self.target.prediction_bins[name])
            elif numeric:
                counter = _OwnBins()
            else:
                counter = CategoryCounter(())
                counter.limit = 1000
            self.outputs[name] = counter
        if isinstance(counter, CategoryCounter):
            counter.add(windows.category(v))
        else:
            x = _number(v)
            counter.add(None if x == "bad" else x)  # type: ignore[arg-type]  # 'bad' was just mapped to None

    def window(self) -> Window:
        """The window profile of what was added."""
        t = self.target
        c = self.counts
        start = t.start or c.first
        # Windows are half-open, [start, end): without --window the end is just past the last request.
        end = t.end or (c.last + timedelta(milliseconds=1) if c.last is not None else None)
        counters: list[tuple[str, NumericCounter | CategoryCounter]] = [
            *self.numeric.items(),
            *self.categorical.items(),
        ]
        inputs = tuple((name, counter.result()) for name, counter in counters if _used(counter))
        predictions = tuple(
            (name, counter.result(keep_new=True) if isinstance(counter, CategoryCounter) else counter.result())
            for name, counter in self.outputs.items()
        )
        violations = {k: dict(v) for k, v in c.violations.items()}
        for name, n in self.unexpected.items():
            violations.setdefault(name, {})["unexpected-column"] = n
        return Window(
            model=t.model,
            release=t.release,
            commit=t.commit,
            reference=t.reference,
            start=_iso(start),
            end=_iso(end),
            requests=c.requests,
            rows=c.rows,
            errors=c.errors,
            latency=tuple(c.latency),
            inputs=tuple(sorted(inputs)),
            predictions=tuple(sorted(predictions)),
            violations=tuple((k, tuple(sorted(v.items()))) for k, v in sorted(violations.items())),
        )


def _used(counter: NumericCounter | CategoryCounter) -> bool:
    if isinstance(counter, NumericCounter):
        return bool(counter.buffer) or any(counter.counts) or counter.nulls > 0 or counter.nonfinite > 0
    return any(counter.counts.values()) or bool(counter.new) or counter.nulls > 0 or counter.spill > 0


def _bucket(ms: float) -> int:
    import bisect

    return bisect.bisect_left(LATENCY_EDGES, ms)


def _iso(t: datetime | None) -> str:
    if t is None:
        return "unknown"
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}Z"


def collect(
    items: Iterable[Request | LogTable], target: WindowTarget, keep_predictions: bool, skipped: Skipped, inputs: frozenset[str]
) -> Collector:
    """One pass over the logs; `skipped` fills with the lines that were not requests."""
    collector = Collector(target, keep_predictions)
    for item in items:
        if isinstance(item, LogTable):
            if not vectorised.add_table(collector, item):
                for req in item.requests(inputs, skipped):
                    collector.add(req)
        else:
            collector.add(item)
    return collector
