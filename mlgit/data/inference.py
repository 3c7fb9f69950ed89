"""Schema inference: a conservative, deterministic schema from a dataset's data (`mlgit schema infer`).

Conservative means it only states what the data supports firmly and leaves room for the next batch:
ranges are the observed range widened by 10 % of its span (never across 0, never past 1 for fractions) and
rounded outward to 3 significant digits; allowed values only for columns with at most 20 distinct values
seen at least 5 times on average; `unique` only for int/string columns of 20+ rows without repeats (and no
upper bound when such an int column is strictly increasing: ids grow); row bounds from half to twice the rows seen. The same data always gives the same text.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from mlgit.data import table
from mlgit.data.schema import Column, Schema
from mlgit.results.codes import Code

if TYPE_CHECKING:
    import polars as pl

MAX_VALUES = 20
MIN_ROWS_PER_VALUE = 5
MIN_ROWS_UNIQUE = 20
MARGIN = 0.10


@dataclass(frozen=True)
class Inferred:
    """An inferred schema and what a person should know about it."""

    schema: Schema
    rows: int
    notes: tuple[str, ...]


def _outward(v: float, up: bool, digits: int = 3) -> float:
    if v == 0 or not math.isfinite(v):
        return v
    exp = math.floor(math.log10(abs(v))) - digits + 1
    q = Decimal(v).quantize(Decimal(1).scaleb(exp), rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return float(q)


def widen(low: float, high: float, integer: bool) -> tuple[float, float]:
    """The observed range with a margin, kept on its side of 0 and inside [0, 1] for fractions."""
    margin = (high - low) * MARGIN
    # 12 significant digits first, so 0.1 - 0.08 floors to 0.02, not to 0.0199.
    lo, hi = float(f"{low - margin:.12g}"), float(f"{high + margin:.12g}")
    if low >= 0:
        lo = max(lo, 0.0)
    if high <= 0:
        hi = min(hi, 0.0)
    if low >= 0 and high <= 1 and not integer:
        hi = min(hi, 1.0)
    if integer:
        return float(math.floor(lo)), float(math.ceil(hi))
    lo, hi = _outward(lo, up=False), _outward(hi, up=True)
    return min(lo, low), max(hi, high)


def _nice_fraction(frac: float) -> float:
    return min(1.0, _outward(2 * frac, up=True, digits=2))


def _stats(lf: pl.LazyFrame, exprs: dict[str, pl.Expr], types: dict[str, str], source: table.Source) -> dict[str, Any]:
    import polars as pl

    aggs: list[pl.Expr] = [pl.len().alias("\x1frows")]
    for i, (name, c) in enumerate(exprs.items()):
        t = types[name]
        aggs += [c.null_count().alias(f"{i}n"), c.n_unique().alias(f"{i}u")]
        if t in ("int", "float"):
            finite = pl.when(c.is_finite()).then(c) if t == "float" else c
            aggs += [finite.min().alias(f"{i}lo"), finite.max().alias(f"{i}hi")]
            if t == "int":
                aggs.append(c.diff().min().alias(f"{i}step"))  # > 0: strictly increasing, like an id
            if t == "float":
                aggs.append((~c.is_finite()).sum().alias(f"{i}nf"))
        elif t in ("date", "datetime"):
            aggs.append(c.min().alias(f"{i}lo"))
    return table.aggregate(lf, aggs, source)


def _distinct(
    lf: pl.LazyFrame, exprs: dict[str, pl.Expr], names: list[str], source: table.Source
) -> dict[str, list[Any]]:
    if not names:
        return {}
    row = table.aggregate(lf, [exprs[n].drop_nulls().unique().sort().implode().alias(n) for n in names], source)
    return {n: list(row[n]) for n in names}


def _decide_text_types(lf: pl.LazyFrame, names: list[str], source: table.Source) -> tuple[dict[str, str], list[str]]:
    import polars as pl

    aggs = []
    for i, n in enumerate(names):
        c = pl.col(n)
        aggs += [
            c.is_not_null().sum().alias(f"{i}v"),
            table.coerce(c, "int").is_not_null().sum().alias(f"{i}i"),
            table.coerce(c, "float").is_not_null().sum().alias(f"{i}f"),
            c.filter(c.is_not_null() & table.coerce(c, "float").is_null()).head(3).implode().alias(f"{i}x"),
        ]
    row = table.aggregate(lf, aggs, source)
    types: dict[str, str] = {}
    notes: list[str] = []
    for i, n in enumerate(names):
        values, ints, floats = row[f"{i}v"], row[f"{i}i"], row[f"{i}f"]
        if values and ints == values:
            types[n] = "int"
        elif values and floats == values:
            types[n] = "float"
        else:
            types[n] = "string"
            if floats:
                bad = ", ".join(repr(x) for x in row[f"{i}x"])
                notes.append(
                    f"{n}: mixed values ({values - floats} of {values} are not numbers, e.g. {bad}); "
                    "inferred as string: fix the data, or keep it if text is right"
                )
    return types, notes


def infer(name: str, source: table.Source) -> Inferred:
    """Infer a dataset's schema; raises table.TableError for data that cannot be read."""
    problems = table.sniff(source)
    if problems:
        p = problems[0]
        raise table.TableError(p.code, p.message, p.file, hint="fix the data before inferring a schema from it")
    actual = table.column_types(source)
    lf, types, exprs, stats, notes = _typed_stats(source, actual)
    rows = int(stats["\x1frows"])
    if rows == 0:
        raise table.TableError(Code.DATA_NO_ROWS, f"{source.label} has no rows to infer a schema from", source.path)
    low_card = []
    for i, n in enumerate(exprs):
        distinct = int(stats[f"{i}u"]) - (1 if stats[f"{i}n"] else 0)
        if types[n] in ("string", "int") and 0 < distinct <= MAX_VALUES and rows >= MIN_ROWS_PER_VALUE * distinct:
            low_card.append(n)
    values = _distinct(lf, exprs, low_card, source)
    columns = [_column(i, n, types[n], stats, values.get(n), rows) for i, n in enumerate(exprs)]
    schema = Schema(columns=tuple(columns), rows_min=max(1, rows // 2), rows_max=rows * 2, dataset=name, path="")
    return Inferred(schema, rows, tuple(notes))


def _typed_stats(
    source: table.Source, actual: dict[str, str]
) -> tuple[pl.LazyFrame, dict[str, str], dict[str, pl.Expr], dict[str, Any], list[str]]:
    """The columns' types, their coercing expressions and one pass of statistics over the data."""
    import polars as pl

    lf = table.scan(source)
    types = dict(actual)
    try:
        # Text columns whose values are all numbers (`nan`, `1e3`, ...) are numbers; partly numbers is a note.
        text_cols = [n for n, t in actual.items() if t == "string"]
        decided, notes = _decide_text_types(lf, text_cols, source) if text_cols else ({}, [])
        types.update(decided)
        exprs = {
            n: table.coerce(pl.col(n), types[n]) if decided.get(n, "string") != "string" else pl.col(n) for n in actual
        }
        return lf, types, exprs, _stats(lf, exprs, types, source), notes
    except table.TableError as exc:
        if exc.code != Code.DATA_TYPE_MISMATCH or source.format == "parquet":
            raise
    # A value past the type-inference window does not parse: decide each column's type from all values.
    text_cols = [n for n, t in actual.items() if t != "string"]
    lf = table.scan(source, dict.fromkeys(actual, "string"), as_text=list(actual))
    decided, notes = _decide_text_types(lf, text_cols, source)
    types.update(decided)
    exprs = {n: table.coerce(pl.col(n), types[n]) if n in decided else pl.col(n) for n in actual}
    return lf, types, exprs, _stats(lf, exprs, types, source), notes


def _is_id(t: str, step: Any, distinct: int, rows: int, nulls: int) -> bool:
    """A unique, strictly increasing int column: an id or a counter, which grows with every batch."""
    return t == "int" and step is not None and step > 0 and rows >= MIN_ROWS_UNIQUE and distinct == rows and not nulls


def _column(i: int, n: str, t: str, stats: dict[str, Any], values: list[Any] | None, rows: int) -> Column:
    """One column of the inferred schema, from its statistics (`{i}n` nulls, `{i}u` distinct, `{i}lo`/`{i}hi`)."""
    nulls = int(stats[f"{i}n"])
    distinct = int(stats[f"{i}u"]) - (1 if nulls else 0)
    kw: dict[str, Any] = {"nullable": nulls > 0}
    if nulls:
        kw["max_null_fraction"] = _nice_fraction(nulls / rows)
    if values is not None:
        kw["values"] = tuple(values)
    elif t in ("int", "float") and stats[f"{i}lo"] is not None:
        lo, hi = widen(float(stats[f"{i}lo"]), float(stats[f"{i}hi"]), t == "int")
        kw["min"], kw["max"] = (int(lo), int(hi)) if t == "int" else (lo, hi)
        if _is_id(t, stats.get(f"{i}step"), distinct, rows, nulls):
            del kw["max"]  # the next batch's ids are past today's maximum: only a lower bound holds
    elif t in ("date", "datetime") and stats[f"{i}lo"] is not None:
        # Timestamps grow with every batch: only a lower bound is safe (it catches epoch-zero garbage).
        lo_v = stats[f"{i}lo"]
        kw["min"] = lo_v.isoformat() if isinstance(lo_v, dt.date) else str(lo_v)
    if t == "float" and int(stats.get(f"{i}nf") or 0):
        kw["finite"] = False
    if t in ("int", "string") and values is None and rows >= MIN_ROWS_UNIQUE and distinct == rows - nulls and not nulls:
        kw["unique"] = True
    return Column(name=n, type=t, **kw)
