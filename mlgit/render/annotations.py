"""Findings tied to a file as GitHub Actions workflow commands (`::error file=...,line=...::message`).

GitHub shows at most 10 error and 10 warning annotations per step and drops the rest silently, so past
the limit the last slot says how many more there are (they are all in the step summary).
"""

from __future__ import annotations

from collections.abc import Iterable

from mlgit.results.finding import Finding, Severity

MAX_PER_LEVEL = 10


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def command(
    level: str, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
) -> str:
    """One workflow command line."""
    props = []
    if file:
        props.append(f"file={_prop(file)}")
        if line:
            props.append(f"line={line}")
    if title:
        props.append(f"title={_prop(title)}")
    return f"::{level} {','.join(props)}::{_data(message)}" if props else f"::{level}::{_data(message)}"


def github(findings: Iterable[Finding], *, limit: int = MAX_PER_LEVEL) -> list[str]:
    """Annotations for the error and warning findings that name a file, at most `limit` of each level."""
    out: list[str] = []
    findings = list(findings)
    for severity, level in ((Severity.ERROR, "error"), (Severity.WARNING, "warning")):
        tied = [f for f in findings if f.severity == severity and f.file]
        shown = tied if len(tied) <= limit else tied[: limit - 1]
        for f in shown:
            out.append(command(level, f.message, file=f.file, line=f.line, title=f"mlgit {f.code}"))
        if len(tied) > limit:
            rest = len(tied) - len(shown)
            out.append(command(level, f"{rest} more {level}s: see the mlgit report in the step summary", title="mlgit"))
    return out
