"""Judging: the aggregates of one query (`checks.query.Scan`) against each rule, as findings.

A rule that holds yields nothing; one that fails yields one finding with the count, the fraction, a few failing
values and the file and line of the constraint, so the person reading it knows what to fix and where.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from mlgit.checks.query import AggregateScan
from mlgit.checks.rules import Rule, RuleKind, fmt
from mlgit.config.settings import Dataset
from mlgit.results.finding import Finding, Severity

SAMPLE_CHARS = 80  # a sample value longer than this is cut (a 5 MB field stays out of reports)


def findings(scan: AggregateScan, dataset: str) -> list[Finding]:
    """One finding per rule the data fails, in rule order."""
    out = []
    for i, r in enumerate(scan.rules):
        f = judge(r, i, scan.values, scan.rows, dataset)
        if f is not None and r.kind is RuleKind.UNIQUE:
            f = _with_duplicates(f, scan, r.column or "")
        if f is not None:
            out.append(f)
    return out


def judge(rule: Rule, i: int, res: Mapping[str, Any], rows: int, dataset: str) -> Finding | None:
    """The finding of one rule (`i`: its index in the query), or None when the data passes it."""
    verdict = _JUDGES.get(rule.kind, _statistic)(rule, f"\x1fr{i}", res, rows)
    if verdict is None:
        return None
    message, data = verdict
    return Finding(
        code=rule.code,
        severity=rule.severity,
        subject=dataset,
        message=message,
        file=rule.file,
        line=rule.line,
        column=rule.column,
        data={"rule": rule.what, "rows": rows, **data},
    )


_Verdict = tuple[str, dict[str, Any]] | None


def _where(rule: Rule) -> str:
    return f"{rule.column}: " if rule.column else ""


def _rows(rule: Rule, a: str, res: Mapping[str, Any], rows: int) -> _Verdict:
    if (rule.low is None or rows >= rule.low) and (rule.high is None or rows <= rule.high):
        return None
    return f"{rows} rows, expected {rule.what}", {"value": rows}


def _masked(rule: Rule, a: str, res: Mapping[str, Any], rows: int) -> _Verdict:
    n = int(res[f"{a}n"] or 0)
    if n == 0:
        return None
    samples = sample_values(res.get(f"{a}s"))
    frac = n / rows if rows else 0.0
    eg = f"; e.g. {', '.join(fmt(s) if not isinstance(s, str) else repr(s) for s in samples)}" if samples else ""
    msg = f"{_where(rule)}{n} of {rows} rows ({frac:.2%}) {rule.what}{eg}"
    return msg, {"count": n, "fraction": frac, "samples": samples}


def _null_fraction(rule: Rule, a: str, res: Mapping[str, Any], rows: int) -> _Verdict:
    n = int(res[f"{a}n"] or 0)
    frac = n / rows if rows else 0.0
    if rule.fraction is None or frac <= rule.fraction:
        return None
    msg = f"{_where(rule)}{n} of {rows} rows ({frac:.2%}) are null, above {rule.what} ({rule.fraction:.2%})"
    return msg, {"count": n, "fraction": frac, "limit": rule.fraction}


def _unique(rule: Rule, a: str, res: Mapping[str, Any], rows: int) -> _Verdict:
    nulls = int(res[f"{a}z"] or 0)
    # n_unique counts null as one value; nulls are the null rule's business, not repeats.
    distinct = int(res[f"{a}u"] or 0) - (1 if nulls else 0)
    dupes = rows - nulls - distinct
    if dupes <= 0:
        return None
    msg = f"{_where(rule)}{dupes} of {rows} rows ({dupes / rows:.2%}) repeat a value, but the column must be unique"
    return msg, {"count": dupes, "fraction": dupes / rows if rows else 0.0, "samples": []}


def _statistic(rule: Rule, a: str, res: Mapping[str, Any], rows: int) -> _Verdict:
    value = res[f"{a}v"]
    if value is not None and (rule.low is None or value >= rule.low) and (rule.high is None or value <= rule.high):
        return None
    shown = "undefined (no values)" if value is None else f"{value:.6g}"
    return f"{_where(rule)}{rule.kind} is {shown}, expected {rule.what}", {"value": value}


_JUDGES: dict[RuleKind, Callable[[Rule, str, Mapping[str, Any], int], _Verdict]] = {
    RuleKind.ROWS: _rows,
    RuleKind.MASK: _masked,
    RuleKind.NULL_FRACTION: _null_fraction,
    RuleKind.UNIQUE: _unique,
}


def _with_duplicates(f: Finding, scan: AggregateScan, column: str) -> Finding:
    # The repeated values need a group-by of their own: only worth it once the rule has failed.
    samples = [f"{sample_values([v])[0]} ({n}x)" for v, n in scan.duplicates(column)]
    return Finding(
        code=f.code,
        severity=f.severity,
        subject=f.subject,
        message=f"{f.message}; e.g. {', '.join(samples)}" if samples else f.message,
        file=f.file,
        line=f.line,
        column=f.column,
        data={**f.data, "samples": samples},
    )


def sample_values(values: Any) -> list[Any]:
    """Failing values as a report can show them: non-finite floats and dates as text, long text cut."""
    out: list[Any] = []
    for v in values or []:
        if isinstance(v, float) and not math.isfinite(v):
            out.append(str(v))
        elif isinstance(v, str) and len(v) > SAMPLE_CHARS:
            out.append(v[: SAMPLE_CHARS - 3] + "...")
        elif isinstance(v, dt.date | dt.datetime):
            out.append(v.isoformat())
        else:
            out.append(v)
    return out


def promote(found: list[Finding], ds: Dataset) -> list[Finding]:
    """With `fail_on_warning: true`, the dataset's warnings as errors (marked as promoted)."""
    if not ds.fail_on_warning:
        return found
    out = []
    for f in found:
        if f.severity == Severity.WARNING:
            f = Finding(
                code=f.code,
                severity=Severity.ERROR,
                subject=f.subject,
                message=f"{f.message} (fail_on_warning)",
                file=f.file,
                line=f.line,
                column=f.column,
                data={**f.data, "promoted_from": Severity.WARNING},
            )
        out.append(f)
    return out
