"""Table logs (CSV, Parquet) counted column by column with polars: the same window as row by row, in a fraction
of the time. Whatever this path cannot take exactly as the row path would (odd types, labels to join) it
declines, and the collector reads the table row by row instead; a test holds the two paths to the same window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlgit.monitor import window as windows
from mlgit.monitor.logs import META, LogTable
from mlgit.monitor.window import LATENCY_EDGES, CategoryCounter, NumericCounter

if TYPE_CHECKING:
    import polars as pl

    from mlgit.monitor.collect import Collector


def _meta_ok(frame: pl.DataFrame) -> bool:
    import polars as pl

    dtypes = frame.schema
    if "timestamp" in dtypes and "time" not in dtypes:
        return False  # rare; the row path reads it
    ok = True
    if "status" in dtypes:
        ok = ok and (dtypes["status"].is_integer() or dtypes["status"] == pl.Null)
    if "latency_ms" in dtypes:
        ok = ok and (dtypes["latency_ms"].is_numeric() or dtypes["latency_ms"] == pl.Null)
    for name in ("version", "model"):
        if name in dtypes:
            ok = ok and dtypes[name] in (pl.String, pl.Null)
    return ok


def _times(frame: pl.DataFrame) -> pl.Series | None:
    """The time column as UTC datetimes; None when absent. Raises ValueError when a value does not parse."""
    import polars as pl

    if "time" not in frame.columns:
        return None
    col = frame["time"]
    if col.dtype == pl.String:
        parsed = col.str.replace(r"Z$", "+00:00").str.to_datetime(time_zone="UTC", strict=False)
        if parsed.null_count() != col.null_count():
            raise ValueError("a time that does not parse")
        return parsed
    if isinstance(col.dtype, pl.Datetime):
        return col.dt.replace_time_zone("UTC") if col.dtype.time_zone is None else col.dt.convert_time_zone("UTC")
    raise ValueError("a time column of another type")


def add_table(collector: Collector, table: LogTable) -> bool:
    """Count a whole table into the collector; False (nothing counted) when the row path must read it."""
    import polars as pl

    frame = table.frame
    if collector.keep or not _meta_ok(frame):
        return False
    try:
        times = _times(frame)
    except ValueError:
        return False
    t, c = collector.target, collector.counts
    if "version" in frame.columns:
        other = frame.filter(pl.col("version").is_not_null() & (pl.col("version") != t.release))
        for version, n in other["version"].value_counts().iter_rows():
            c.other_version[version] = c.other_version.get(version, 0) + n
        keep = frame["version"].is_null() | (frame["version"] == t.release)
        frame, times = frame.filter(keep), (times.filter(keep) if times is not None else None)
    if times is not None:
        inside = times.is_null()
        inside = inside | ((times >= t.start) if t.start is not None else True) & (
            (times < t.end) if t.end is not None else True
        )
        c.outside += int((~inside).sum())
        frame, times = frame.filter(inside), times.filter(inside)
        if times.drop_nulls().len():
            first, last = times.min(), times.max()
            c.first = first if c.first is None else min(c.first, first)  # type: ignore[type-var, assignment]  # datetimes
            c.last = last if c.last is None else max(c.last, last)  # type: ignore[type-var, assignment]  # datetimes
    c.requests += frame.height
    if "latency_ms" in frame.columns:
        latency = frame["latency_ms"].drop_nulls().cast(pl.Float64)
        index = pl.Series("e", LATENCY_EDGES, dtype=pl.Float64).search_sorted(latency, side="left")
        for i, n in index.value_counts().iter_rows():
            c.latency[int(i)] += int(n)
    if "status" in frame.columns:
        failed = frame["status"].fill_null(200) >= 400
        c.errors += int(failed.sum())
        frame = frame.filter(~failed)
    c.rows += frame.height
    inputs = {n for n in (*collector.numeric, *collector.categorical, *collector.schema)}
    for name in frame.columns:
        if name in inputs:
            _input(collector, name, frame[name])
        elif name not in META:
            _output(collector, name, frame[name])
    return True


def _input(collector: Collector, name: str, values: pl.Series) -> None:
    col = collector.schema.get(name)
    counter = collector.numeric.get(name)
    if counter is None or not values.dtype.is_numeric():
        collector._input(name, values.to_list())  # categorical or odd columns: value by value, as the row path does
        return
    counter.add_series(values)
    if col is None:
        return
    present = values.drop_nulls().cast(float)
    if not col.nullable and values.null_count():
        _violate(collector, name, "nulls", values.null_count())
    nonfinite = ~present.is_finite()
    if col.finite and int(nonfinite.sum()):
        _violate(collector, name, "non-finite", int(nonfinite.sum()))
    finite = present.filter(~nonfinite)
    if col.values is not None:
        collector._input_checks(name, col, finite.to_list())
        return
    low, high = col.min, col.max
    n = 0
    if isinstance(low, int | float) or isinstance(high, int | float):
        below = (finite < low).sum() if isinstance(low, int | float) else 0
        above = (finite > high).sum() if isinstance(high, int | float) else 0
        n = int(below) + int(above)  # min <= max (schema files are validated), so no value is counted twice
    if n:
        _violate(collector, name, "out-of-range", n)


def _violate(collector: Collector, name: str, kind: str, n: int) -> None:
    per = collector.counts.violations.setdefault(name, {})
    per[kind] = per.get(kind, 0) + n


def _output(collector: Collector, name: str, values: pl.Series) -> None:
    import polars as pl

    counter = collector.outputs.get(name)
    if counter is None and values.dtype.is_float() and name in collector.target.prediction_bins:
        counter = collector.outputs[name] = NumericCounter(collector.target.prediction_bins[name])
    if isinstance(counter, NumericCounter) and values.dtype.is_numeric():
        counter.add_series(values.cast(pl.Float64))
        return
    if counter is None and values.dtype.is_float():
        from mlgit.monitor.collect import _OwnBins  # the first window's own bins, as the row path draws them

        own = _OwnBins()
        present = values.drop_nulls()
        finite = present.is_finite()
        own.nulls, own.nonfinite = values.null_count(), int((~finite).sum())
        own.values.extend(present.filter(finite).to_list())
        collector.outputs[name] = own
        return
    if counter is None and values.dtype == pl.String:
        counter = collector.outputs[name] = CategoryCounter(())
        counter.limit = 1000
    if isinstance(counter, CategoryCounter) and values.dtype == pl.String:
        counter.nulls += values.null_count()
        for value, n in values.drop_nulls().value_counts().iter_rows():
            category = windows.category(value)
            if category in counter.counts:
                counter.counts[category] += n
            elif category in counter.new or len(counter.new) < counter.limit:
                counter.new[str(category)] = counter.new.get(str(category), 0) + n
            else:
                counter.spill += n
        return
    for v in values.to_list():  # ints (classes), bools: the row path's own typing decides
        collector._output(name, v)
