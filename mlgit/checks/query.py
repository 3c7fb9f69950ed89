"""One query: the aggregates of every rule and of the profile, computed in one streaming pass over the data.

Each rule gets its aggregates under a private alias (`\x1fr<i>...`); identical aggregates are computed once.
A rule that fails a row-level test gets a few failing values in a second, small query (only then).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlgit.checks import rules
from mlgit.checks.rules import Rule, RuleKind
from mlgit.data import profile, table
from mlgit.results.codes import Code

if TYPE_CHECKING:
    import polars as pl

SAMPLES = 5
ROWS = "\x1frows"


@dataclass(frozen=True)
class AggregateScan:
    """The aggregates of one pass, by alias, and what judging needs to fetch samples afterwards."""

    rules: tuple[Rule, ...]  # the rules asked for, then a parse rule per column read as text
    values: Mapping[str, Any]
    rows: int
    frame: pl.LazyFrame
    exprs: Mapping[str, pl.Expr]
    source: table.Source

    def duplicates(self, column: str) -> list[tuple[Any, int]]:
        """The most repeated values of a column (value, count), most repeated first."""
        return _duplicates(self.frame.select(self.exprs[column].alias(column)), column, self.source)


# Where a column read as text is declared (file, line), for its parse rule.
Where = Callable[[str], tuple[str, "int | None"]]


def _literal(v: Any, type_: str) -> Any:
    if isinstance(v, str) and type_ == "date":
        return dt.date.fromisoformat(v[:10])
    if isinstance(v, str) and type_ == "datetime":
        return dt.datetime.fromisoformat(v)
    return v


def _mask(rule: Rule, c: pl.Expr, type_: str) -> pl.Expr:
    import polars as pl

    if rule.test == "nulls":
        return c.is_null()
    if rule.test == "finite":
        return c.is_nan() | c.is_infinite()
    if rule.test == "range":
        parts: list[pl.Expr] = []
        if rule.low is not None:
            parts.append(c < _literal(rule.low, type_))
        if rule.high is not None:
            parts.append(c > _literal(rule.high, type_))
        out = parts[0] if len(parts) == 1 else parts[0] | parts[1]
        # NaN and inf have their own finding; polars orders NaN above every number.
        return c.is_finite() & out if type_ == "float" else out
    if rule.test == "set":
        if type_ not in ("string", "bool", "int", "float"):
            text = c.cast(pl.String)
            return text.is_not_null() & ~text.is_in([str(v) for v in rule.values])
        return c.is_not_null() & ~c.is_in(rules.set_values(rule.values, type_))
    if rule.test == "regex":
        text = c if type_ == "string" else c.cast(pl.String)
        return text.is_not_null() & ~text.str.contains(rule.pattern or "")
    raise AssertionError(rule.test)


def _aggregates(rule: Rule, i: int, c: pl.Expr | None, type_: str, ordered: bool = False) -> list[pl.Expr]:
    import polars as pl

    a = f"\x1fr{i}"
    if rule.kind is RuleKind.ROWS:
        return []
    assert c is not None
    if rule.kind is RuleKind.MASK:
        # Counting nulls from the validity mask is cheaper, and the same aggregate as the profile's.
        count = c.null_count() if rule.test == "nulls" else _mask(rule, c, type_).sum()
        return [count.alias(f"{a}n")]
    if rule.kind is RuleKind.NULL_FRACTION:
        return [c.null_count().alias(f"{a}n")]
    if rule.kind is RuleKind.UNIQUE and ordered:
        # Integer ids are usually written in order: a strictly monotonic column is unique, which the smallest
        # and largest step between neighbours tell in the streaming pass, without a hash set of every value.
        # Ids that turn out unordered after all are counted exactly in a second query (`_distinct_ints`).
        steps = c.drop_nulls().diff()
        return [steps.min().alias(f"{a}d"), steps.max().alias(f"{a}e"), c.null_count().alias(f"{a}z")]
    if rule.kind is RuleKind.UNIQUE:
        return [c.n_unique().alias(f"{a}u"), c.null_count().alias(f"{a}z")]
    finite = pl.when(c.is_finite()).then(c) if type_ == "float" else c.cast(pl.Float64)
    return [(finite.mean() if rule.kind is RuleKind.MEAN else finite.std()).alias(f"{a}v")]


def _dedupe(aggs: Sequence[pl.Expr]) -> tuple[list[pl.Expr], dict[str, str]]:
    """Identical aggregates computed once (checks and the profile both count nulls, for instance)."""
    seen: dict[str, str] = {}
    kept: list[pl.Expr] = []
    same_as: dict[str, str] = {}
    for e in aggs:
        alias = e.meta.output_name()
        key = str(e.meta.undo_aliases())
        if key in seen:
            same_as[alias] = seen[key]
        else:
            seen[key] = alias
            kept.append(e)
    return kept, same_as


def _duplicates(lf: pl.LazyFrame, column: str, source: table.Source) -> list[tuple[Any, int]]:
    import polars as pl

    q = (
        lf.group_by(column)
        .agg(pl.len().alias("\x1fn"))
        .filter((pl.col("\x1fn") > 1) & pl.col(column).is_not_null())
        .sort(["\x1fn", column], descending=[True, False])
        .head(SAMPLES)
    )
    return [(v, n) for v, n in table.collect(q, source).iter_rows()]


@dataclass(frozen=True)
class _Plan:
    rules: tuple[Rule, ...]
    aggs: list[pl.Expr]
    masks: dict[int, tuple[pl.Expr, pl.Expr]]  # row-level rules: (failing rows, the value to show)
    exprs: dict[str, pl.Expr]


def _frame(
    source: table.Source,
    types: Mapping[str, str],
    actual: Mapping[str, str],
    typed: Mapping[str, str],
    as_text: list[str],
) -> pl.LazyFrame:
    import polars as pl

    lf = table.scan(source, {**typed, **{n: types[n] for n in as_text}}, as_text=as_text)
    # Convert once, before the aggregates (the streaming engine would repeat a conversion per use).
    converted: list[pl.Expr] = []
    for name, t in types.items():
        if name in as_text:
            converted += [pl.col(name).alias(f"\x1fraw:{name}"), table.coerce(pl.col(name), t).alias(name)]
        elif t == "float" and actual[name] == "int":
            converted.append(pl.col(name).cast(pl.Float64))
    return lf.with_columns(converted) if converted else lf


def _plan(
    asked: Sequence[Rule],
    types: Mapping[str, str],
    as_text: list[str],
    specs: Sequence[profile.Spec],
    where: Where,
    ordered: frozenset[str] = frozenset(),
) -> _Plan:
    import polars as pl

    exprs: dict[str, pl.Expr] = {name: pl.col(name) for name in types}
    raws: dict[str, pl.Expr] = {name: pl.col(f"\x1fraw:{name}") for name in as_text}
    run = [*asked, *(rules.parse_rule(n, types[n], *where(n)) for n in as_text)]
    aggs: list[pl.Expr] = [pl.len().alias(ROWS)]
    masks: dict[int, tuple[pl.Expr, pl.Expr]] = {}
    for i, r in enumerate(run):
        name = r.column or ""
        if r.test == "parse":
            masks[i] = (raws[name].is_not_null() & exprs[name].is_null(), raws[name])
            aggs.append(masks[i][0].sum().alias(f"\x1fr{i}n"))
            continue
        if r.kind is RuleKind.MASK:
            masks[i] = (_mask(r, exprs[name], types[name]), raws.get(name, exprs[name]))
        aggs += _aggregates(r, i, exprs.get(name) if r.column else None, types.get(name, "other"), name in ordered)
    aggs += profile.expressions(list(specs), exprs)
    return _Plan(tuple(run), aggs, masks, exprs)


def _collect(source: table.Source, lf: pl.LazyFrame, plan: _Plan) -> dict[str, Any]:
    unique_aggs, same_as = _dedupe(plan.aggs)
    res = table.aggregate(lf, unique_aggs, source)
    res.update({alias: res[first] for alias, first in same_as.items()})
    _distinct_ints(source, lf, plan, res)
    for i, (mask, shown) in plan.masks.items():
        if res[f"\x1fr{i}n"]:
            df = table.collect(lf.filter(mask).select(shown.alias("v")).head(SAMPLES), source)
            res[f"\x1fr{i}s"] = df["v"].to_list()
    return res


PROBE_ROWS = 4096


def _ordered_ints(lf: pl.LazyFrame, asked: Sequence[Rule], types: Mapping[str, str]) -> frozenset[str]:
    """Integer columns that must be unique and whose first rows are strictly monotonic (a cheap look at the head).

    Those are judged from their steps in the one pass; any other column gets its exact distinct count there.
    """
    wanted = sorted(
        {r.column for r in asked if r.kind is RuleKind.UNIQUE and r.column and types.get(r.column) == "int"}
    )
    if not wanted:
        return frozenset()
    try:
        # The in-memory engine reads just these rows; reading errors are the main query's to report.
        head = lf.select(wanted).head(PROBE_ROWS).collect()
    except table.read_errors():
        return frozenset()
    ordered = []
    for name in wanted:
        steps = head[name].drop_nulls().diff().drop_nulls()
        if steps.len() == 0 or bool((steps > 0).all()) or bool((steps < 0).all()):
            ordered.append(name)
    return frozenset(ordered)


def _distinct_ints(source: table.Source, lf: pl.LazyFrame, plan: _Plan, res: dict[str, Any]) -> None:
    """`{a}u` (n_unique, null counted as one value) of each integer unique rule, from its steps when monotonic."""
    unsorted: dict[str, pl.Expr] = {}
    for i, r in enumerate(plan.rules):
        a = f"\x1fr{i}"
        if r.kind is not RuleKind.UNIQUE or f"{a}d" not in res:
            continue
        low, high, nulls = res[f"{a}d"], res[f"{a}e"], int(res[f"{a}z"] or 0)
        if low is None or low > 0 or high < 0:  # at most one value, or strictly increasing / decreasing
            res[f"{a}u"] = int(res[ROWS]) - nulls + (1 if nulls else 0)
        else:
            unsorted[f"{a}u"] = plan.exprs[r.column or ""].n_unique().alias(f"{a}u")
    if unsorted:
        res.update(table.collect(lf.select(list(unsorted.values())), source).row(0, named=True))


def run(
    source: table.Source,
    asked: Sequence[Rule],
    types: Mapping[str, str],
    actual: Mapping[str, str],
    typed: Mapping[str, str],
    specs: Sequence[profile.Spec],
    where: Where,
) -> AggregateScan:
    """Every aggregate of `asked` and of the profile `specs` in one pass (`types`: the type each column is
    checked as; `actual`: as read; `typed`: the declared columns, read as their declared type)."""
    # Text formats: dates are read as text and converted in the query (polars' own CSV date parsing is slower),
    # unparseable values counted like any other type mismatch.
    as_text = [n for n, t in typed.items() if t in ("date", "datetime")] if source.format != "parquet" else []
    try:
        return _scan(source, asked, types, actual, typed, specs, where, as_text)
    except table.TableError as exc:
        # A value the declared type cannot parse: read those columns as text and count what fails.
        as_text = [n for n, t in types.items() if t != "string"]
        if exc.code != Code.DATA_TYPE_MISMATCH or source.format == "parquet" or not as_text:
            raise
    return _scan(source, asked, types, actual, typed, specs, where, as_text)


def _scan(
    source: table.Source,
    asked: Sequence[Rule],
    types: Mapping[str, str],
    actual: Mapping[str, str],
    typed: Mapping[str, str],
    specs: Sequence[profile.Spec],
    where: Where,
    as_text: list[str],
) -> AggregateScan:
    lf = _frame(source, types, actual, typed, as_text)
    plan = _plan(asked, types, as_text, specs, where, _ordered_ints(lf, asked, types))
    res = _collect(source, lf, plan)
    return AggregateScan(plan.rules, res, int(res[ROWS]), lf, plan.exprs, source)
