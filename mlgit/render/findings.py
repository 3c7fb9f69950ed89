"""Findings for people (terminal lines) and machines (a JSON document): shared by every check command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlgit.render.style import Style
from mlgit.results.finding import Finding, Severity, counts, failed
from mlgit.results.run import CheckRun

_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)
_COLORS: dict[str, tuple[str, ...]] = {
    Severity.ERROR: ("red", "bold"),
    Severity.WARNING: ("yellow",),
    Severity.INFO: ("dim",),
}


def location(f: Finding) -> str:
    """`file:line` (or `file`), with the column when the finding is about one; empty when none."""
    where = f.file or ""
    if where and f.line is not None:
        where += f":{f.line}"
    if f.column:
        where = f"{where} column {f.column}" if where else f"column {f.column}"
    return where


def summary(findings: Sequence[Finding]) -> str:
    """`3 errors, 1 warning, 5 info`."""
    c = counts(findings)
    parts = [
        f"{c[Severity.ERROR]} error{'s' if c[Severity.ERROR] != 1 else ''}",
        f"{c[Severity.WARNING]} warning{'s' if c[Severity.WARNING] != 1 else ''}",
    ]
    return ", ".join([*parts, f"{c[Severity.INFO]} info"])


def lines(
    findings: Sequence[Finding], style: Style, *, title: str | None = None, show_info: bool = True, fold: int = 3
) -> list[str]:
    """Findings grouped by subject (in order of appearance), then one verdict line.

    Errors and warnings are always listed one by one; more than `fold` info findings of one code about one
    subject (a drift value per column, say) fold into one line that points to --json for the values.
    """
    out = [style(title, "bold")] if title else []
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        if show_info or f.severity != Severity.INFO:
            groups.setdefault(f.subject, []).append(f)
    rows: list[tuple[str, str, str, str]] = []  # severity, code, detail; a subject heading has only the detail
    for subject, group in groups.items():
        rows.append(("", "", "", subject))
        infos: dict[str, int] = {}
        for f in group:
            if f.severity == Severity.INFO:
                infos[f.code] = infos.get(f.code, 0) + 1
        folded: set[str] = set()
        for f in group:
            if f.severity == Severity.INFO and infos[f.code] > fold:
                if f.code not in folded:
                    folded.add(f.code)
                    rows.append(
                        ("row", Severity.INFO, f.code, f"{infos[f.code]} findings (each with its values in --json)")
                    )
                continue
            first, *rest = f.message.splitlines() or [""]
            where = location(f)
            # A gate's bound says its mlgit.yaml line in the message itself (for tables and --json): not twice.
            shown = f"{first} ({where})" if where and not first.endswith(f"({where})") else first
            rows.append(("row", f.severity, f.code, shown))
            rows.extend(("row", "", "", extra) for extra in rest)
    sev_w = max((len(r[1]) for r in rows if r[0]), default=0)
    code_w = max((len(r[2]) for r in rows if r[0]), default=0)
    for kind, severity, code, detail in rows:
        if not kind:
            out.append(style(detail, "bold"))
            continue
        sev = style(severity, *_COLORS.get(severity, ())) + " " * (sev_w - len(severity))
        out.append(f"  {sev}  {code.ljust(code_w)}  {detail}".rstrip())
    if not findings:
        out.append("no findings")
    verdict = "FAILED" if failed(findings) else "PASSED"
    out.append(style(f"{verdict}: {summary(findings)}", "red" if failed(findings) else "green", "bold"))
    return out


def document(findings: Sequence[Finding], **extra: Any) -> CheckRun:
    """The JSON document of a check run: verdict, counts, command-specific keys, then every finding."""
    return CheckRun(extra=extra, findings=tuple(findings))
