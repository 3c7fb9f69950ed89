"""Findings: what every check yields, with a stable code from the catalogue, so one run can report everything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlgit.results.codes import Code
from mlgit.results.status import Status


class Severity(Status):
    """How much a finding matters: errors fail a check, warnings are shown, infos are measurements."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One observation of a check (`data.out-of-range`, `model.metric-regressed`, ...)."""

    code: Code
    severity: Severity
    subject: str  # the dataset, model or file it is about
    message: str
    file: str | None = None  # a repository file a reviewer should look at (for CI annotations)
    line: int | None = None
    column: str | None = None  # a data column, when it is about one
    data: Mapping[str, Any] = field(default_factory=dict)  # measured values, counts, samples

    def __post_init__(self) -> None:
        # A code or severity given as text must be one the catalogue declares: unknown ones fail here, at once.
        object.__setattr__(self, "code", Code(self.code))
        object.__setattr__(self, "severity", Severity(self.severity))


def failed(findings: Iterable[Finding]) -> bool:
    """Whether any finding is an error."""
    return any(f.severity is Severity.ERROR for f in findings)


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings of each severity (every severity present as a key, errors first)."""
    out: dict[str, int] = dict.fromkeys((Severity.ERROR, Severity.WARNING, Severity.INFO), 0)
    for f in findings:
        out[f.severity] += 1
    return out
