"""Findings: what every check yields, with a stable dotted code, so one run can report everything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One observation of a check (`data.out-of-range`, `model.metric-regressed`, ...)."""

    code: str
    severity: str  # error | warning | info
    subject: str  # the dataset, model or file it is about
    message: str
    file: str | None = None  # a repository file a reviewer should look at (for CI annotations)
    line: int | None = None
    column: str | None = None  # a data column, when it is about one
    data: Mapping[str, Any] = field(default_factory=dict)  # measured values, counts, samples

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "code": self.code,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "data": dict(self.data),
        }


def failed(findings: Iterable[Finding]) -> bool:
    """Whether any finding is an error."""
    return any(f.severity == ERROR for f in findings)
