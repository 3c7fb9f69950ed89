"""The words and numbers every report format shares, so markdown, HTML and text say the same thing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlgit.registry.baseline import BaselineKind
from mlgit.registry.semver import Bump
from mlgit.repo.values import ParamValue, number
from mlgit.report.build import GateStatus, GateVerdict, MetricRow, Report, ReportVerdict, Trend
from mlgit.results.finding import Finding, Severity

SEVERITY_ORDER: dict[str, int] = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
VERDICT_WORD = {ReportVerdict.PASSED: "PASS", ReportVerdict.WARNED: "PASS WITH WARNINGS", ReportVerdict.FAILED: "FAIL"}
TREND_WORD = {
    Trend.BETTER: "better",
    Trend.WORSE: "worse",
    Trend.SAME: "unchanged",
    Trend.UP: "up",
    Trend.DOWN: "down",
    Trend.ADDED: "new",
    Trend.REMOVED: "removed",
    Trend.NA: "",
}


def value(v: ParamValue) -> str:
    """A metric, param or measured value, compactly."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def any_value(v: Any) -> str:
    """A finding's data value (lists shortened)."""
    if isinstance(v, (list, tuple)):
        shown = ", ".join(any_value(x) for x in list(v)[:5])
        return f"[{shown}{', ...' if len(v) > 5 else ''}]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {any_value(x)}" for k, x in list(v.items())[:5]) + "}"
    if isinstance(v, (int, float, str, bool)) or v is None:
        return value(v)
    return str(v)


def setting(v: Any) -> str:
    """A policy setting as mlgit.yaml would spell it (None: not set on that side)."""
    if v is None:
        return "(not set)"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {setting(x)}" for k, x in v.items()) or "(no rules)"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join("{" + setting(x) + "}" if isinstance(x, dict) else setting(x) for x in v) + "]"
    return value(v)


POLICY_HEADER = ("Setting", "Default branch ({label}): judges this change", "This change: applies once merged")


def policy_intro(model: str, label: str, changed: int) -> str:
    """The sentence above a policy change's side-by-side table."""
    return (
        f"This change sets {model}'s promotion policy differently ({changed} setting{'s' if changed != 1 else ''}): "
        f"the default branch's rules ({label}) judge it; its own take effect once it is merged."
    )


def delta(row: MetricRow) -> str:
    """The signed change, with the relative change when it means something."""
    if row.change is None:
        return ""
    text = f"{row.change:+.4g}"
    old = number(row.old)
    if old not in (None, 0.0) and row.change != 0:
        assert old is not None
        text += f" ({row.change / abs(old) * 100:+.1f}%)"
    return text


def gate_summary(name: str, g: GateVerdict) -> str:
    """One line: what promote would do for this model."""
    if g.status is GateStatus.WOULD_RELEASE:
        why = {Bump.FIRST: "first release", Bump.MINOR: "minor: improved " + ", ".join(g.improved), Bump.PATCH: "patch"}
        return f"{name}: would be released as {g.tag} ({why[g.bump] if g.bump else ''})"
    if g.status is GateStatus.ALREADY_RELEASED:
        return f"{name}: this commit is already released as {g.tag}"
    if g.status is GateStatus.ERROR:
        return f"{name}: could not be evaluated: {(g.error or '').splitlines()[0]}"
    n = len(g.failures)
    return f"{name}: would be rejected, {n} rule{'s' if n != 1 else ''} failed; no tag"


_KIND_WORDS = {
    BaselineKind.RELEASE: "last release",
    BaselineKind.BRANCH: "default branch",
    BaselineKind.REV: "revision",
}


def baseline_words(g: GateVerdict) -> str:
    """What the gate compared with."""
    if g.first_release:
        return "no release yet: first release, only absolute bounds (min/max) apply"
    b = g.baseline
    where = f" at {b.commit[:8]}" if b.commit and b.commit[:8] not in b.label else ""
    kind = _KIND_WORDS.get(b.kind, str(b.kind))
    return f"{b.label}{where} ({kind})"


def counts_words(c: Mapping[str, int]) -> str:
    """`2 errors, 1 warning` (info is not counted as a problem)."""
    parts = []
    for sev, word in ((Severity.ERROR, "error"), (Severity.WARNING, "warning")):
        if c.get(sev):
            parts.append(f"{c[sev]} {word}{'s' if c[sev] != 1 else ''}")
    return ", ".join(parts) or "no problems"


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then information; stable otherwise."""
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


@dataclass(frozen=True)
class Measurement:
    """One measured value (a column's drift), with the most severe verdict any finding gave it."""

    severity: str
    subject: str
    column: str | None
    data: Mapping[str, Any]


# Data keys that are context rather than a measurement column of their own.
_CONTEXT_KEYS = frozenset({"samples", "column", "dataset", "base", "drifted", "auto_threshold", "kind", "passed"})


def split_measurements(
    findings: Iterable[Finding], limit: int = 6
) -> tuple[list[Measurement], list[str], list[Finding]]:
    """Drift findings with a measured `value`, one row per (subject, column); their columns; the other findings.

    A check may report each measured value as information and, separately, the values over their
    threshold as warnings or errors: both fold into one row marked by the worse severity.
    """
    rows: dict[tuple[str, str | None], Measurement] = {}
    others: list[Finding] = []
    for f in findings:
        value = f.data.get("value")
        if "drift" not in f.code or isinstance(value, bool) or not isinstance(value, (int, float)):
            others.append(f)
            continue
        key = (f.subject, f.column)
        prev = rows.get(key)
        if prev is None or SEVERITY_ORDER.get(f.severity, 3) < SEVERITY_ORDER.get(prev.severity, 3):
            rows[key] = Measurement(f.severity, f.subject, f.column, {**(prev.data if prev else {}), **f.data})
    cols: list[str] = []
    for m in rows.values():
        for k, v in m.data.items():
            if k not in cols and k not in _CONTEXT_KEYS and not isinstance(v, (list, dict)):
                cols.append(k)
    return list(rows.values()), cols[:limit], others


def change_words(report: Report) -> str:
    """What was compared with what."""
    n = report.commits_total
    if report.base.commit is None:
        return f"{report.head.label}: no baseline to compare with ({report.base.label})"
    return f"{report.head.label} compared with {report.base.label}; {n} commit{'s' if n != 1 else ''}"


def chart_range(values: Iterable[float]) -> tuple[float, float]:
    """The y-range of a metric's chart: the values with a margin that never crosses 0 nor passes 1 for a metric
    that lives there (an accuracy of 0.99 is not drawn against an axis up to 1.15), and never empty."""
    seen = list(values)
    lo, hi = min(seen), max(seen)
    pad = (hi - lo) * 0.15 or abs(hi) * 0.05 or 0.05
    low, high = lo - pad, hi + pad
    if lo >= 0:
        low = max(low, 0.0)
    if hi <= 0:
        high = min(high, 0.0)
    if lo >= 0 and hi <= 1:
        high = min(high, 1.0)
    if high <= low:  # one value on a bound (all 0, all 1): keep the margin on the open side
        return (lo, hi + pad) if lo >= 0 else (lo - pad, hi)
    return low, high
