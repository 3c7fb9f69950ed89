"""Data and schema check results for people at a terminal or reading CI logs."""

from __future__ import annotations

from collections.abc import Sequence

from mlgit.render import findings as shared
from mlgit.render.style import Style, table
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity, failed

_COLORS: dict[str, tuple[str, ...]] = {
    Severity.ERROR: ("red", "bold"),
    Severity.WARNING: ("yellow",),
    Severity.INFO: ("dim",),
}
DRIFT_ROWS = 5
# Info findings worth a line of their own (the rest are in --json).
_NOTABLE_INFO = (
    Code.DATA_PROFILE_UPDATED,
    Code.DATA_PROFILE_STALE,
    Code.DATA_DRIFT_NO_BASELINE,
    Code.DATA_DRIFT_SKIPPED,
    "schema.",
)


def _finding_rows(found: Sequence[Finding], style: Style) -> list[str]:
    rows: list[list[str]] = []
    raw: list[list[str]] = []
    for f in found:
        first, *rest = f.message.splitlines() or [""]
        where = shared.location(f) if f.file else ""
        detail = f"{first} ({where})" if where and f.file else first
        raw.append([f.severity, f.code, detail])
        rows.append([style(f.severity, *_COLORS.get(f.severity, ())), f.code, detail])
        for extra in rest:
            raw.append(["", "", extra])
            rows.append(["", "", extra])
    return table(["", "", ""], rows, raw_rows=raw)[1:] if rows else []


def _drift_table(found: Sequence[Finding], style: Style) -> list[str]:
    measures = [f for f in found if f.code == Code.DATA_DRIFT]
    if not measures:
        return []
    drifted = [f for f in measures if f.data.get("drifted")]

    def ratio(f: Finding) -> float:
        value, threshold = f.data.get("value"), float(f.data.get("threshold") or 1.0)
        if value is None:
            return float("inf")
        if f.data.get("method") == "chi2":
            return threshold / max(float(value), 1e-300)
        return float(value) / threshold

    ranked = sorted(measures, key=ratio, reverse=True)
    base = str(measures[0].data.get("base", "base"))
    verdict = f"{len(drifted)} drifted" if drifted else "none drifted"
    out = [f"drift vs {base}: {len(measures)} columns measured, {verdict}"]
    if not drifted and all(f.data.get("value") == 0 for f in measures):
        return [out[0] + " (every value 0: the same distributions)"]
    rows, raw = [], []
    # Every drifted column, and always the closest calls: the measured value is shown, not only a verdict.
    for f in ranked[: max(DRIFT_ROWS, len(drifted))]:
        mark = "DRIFT" if f.data.get("drifted") else "ok"
        cells = [f.column or "", str(f.data.get("method")), _value(f), _threshold(f), mark]
        raw.append(cells)
        rows.append([*cells[:4], style(mark, "yellow", "bold") if mark == "DRIFT" else style(mark, "green")])
    out += ["  " + line for line in table(["column", "method", "value", "threshold", ""], rows, raw_rows=raw)]
    if len(measures) > len(rows):
        out.append(
            f"  {len(measures) - len(rows)} more columns, none closer to its threshold (--json shows every value)"
        )
    return out


def _value(f: Finding) -> str:
    value = f.data.get("value")
    return "inf" if value is None else f"{float(value):.3g}"


def _threshold(f: Finding) -> str:
    return f"{float(f.data.get('threshold') or 0):.3g}"


def dataset_block(
    name: str, header: str, found: Sequence[Finding], style: Style, *, notable: Sequence[str] = _NOTABLE_INFO
) -> list[str]:
    """One dataset: a header line, its errors and warnings (and notable info), its drift table."""
    out = [style(name, "bold") + (f"  {header}" if header else "")]
    listed = [
        f
        for f in found
        if f.code not in (Code.DATA_DRIFT,) and (f.severity != Severity.INFO or f.code.startswith(tuple(notable)))
    ]
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    listed.sort(key=lambda f: order.get(f.severity, 3))
    out += ["  " + line for line in _finding_rows(listed, style)]
    out += ["  " + line for line in _drift_table(found, style)]
    if not listed and not any(f.code == Code.DATA_DRIFT for f in found):
        out.append("  " + style("all checks passed", "green"))
    return out


def verdict(found: Sequence[Finding], style: Style) -> str:
    """`PASSED: 0 errors, 1 warning, 3 info`."""
    bad = failed(found)
    return style(f"{'FAILED' if bad else 'PASSED'}: {shared.summary(found)}", "red" if bad else "green", "bold")
