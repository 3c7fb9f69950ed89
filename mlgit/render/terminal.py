"""Plain-text renderings of results for people at a terminal or reading CI logs."""

from __future__ import annotations

from mlgit.registry.policy import Decision
from mlgit.render.style import Style, table
from mlgit.repo.metrics import FileDiff, KeyChange
from mlgit.repo.values import ParamValue, number


def value(v: ParamValue) -> str:
    """A metric or param value, compactly."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def change(row_change: float | None) -> str:
    """A signed difference."""
    return "" if row_change is None else f"{row_change:+.6g}"


def file_diffs(title: str, diffs: list[FileDiff], style: Style, *, show_same: bool) -> list[str]:
    """A table of one kind of values (metrics or params) compared between two revisions."""
    lines = [style(title, "bold")]
    header = ["Path", "Key", "Old", "New", "Change"]
    rows: list[list[str]] = []
    notes: list[str] = []
    for fd in diffs:
        if fd.base_missing and fd.new_missing:
            notes.append(f"{fd.path}: missing in both revisions")
            continue
        if fd.base_missing:
            notes.append(f"{fd.path}: no baseline ({fd.base_why or 'the file does not exist at the base revision'})")
        if fd.new_missing:
            notes.append(f"{fd.path}: missing in the new revision")
        for r in fd.rows:
            if r.status is KeyChange.SAME and not show_same:
                continue
            old = "(no baseline)" if fd.base_missing else value(r.old) if r.old_present else "(absent)"
            new = value(r.new) if r.new_present else "(absent)"
            delta = change(r.change) if number(r.old) is not None else ""
            rows.append([r.path, r.key, old, new, delta])
    if rows:
        lines.extend("  " + line for line in table(header, rows))
    elif not notes:
        lines.append("  no changes")
    lines.extend(style(f"  {n}", "yellow") for n in notes)
    return lines


def decision(d: Decision, style: Style) -> list[str]:
    """Every rule of the policy with its values and threshold, failures marked."""
    if not d.results:
        if d.first_release:
            return ["  no gate declares min/max bounds: nothing to check for a first release"]
        return ["  no gates declared: nothing to compare (add gates under policy.gates in mlgit.yaml)"]
    rows, raw = [], []
    for r in d.results:
        mark = "PASS" if r.passed else "FAIL"
        cells = [mark, r.metric, r.rule, r.message]
        raw.append(cells)
        rows.append([style(mark, "green" if r.passed else "red", "bold"), *cells[1:]])
    return ["  " + line for line in table(["", "Metric", "Rule", "Detail"], rows, raw_rows=raw)]
