"""What a check command reports in `--json`, and the sides of a comparison, as typed values for the serializer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlgit.results import serialize
from mlgit.results.finding import Finding, counts, failed


@dataclass(frozen=True)
class Revision:
    """One side of a comparison: its commit (None for the work tree) and the label people read."""

    rev: str | None
    label: str


WORK_TREE = Revision(None, "work tree")


@dataclass(frozen=True, kw_only=True)
class CheckRun:
    """A check command's result: verdict and counts first, then the command's own keys, then every finding."""

    JSON_COMPUTED: ClassVar[Mapping[str, str]] = {"passed": "passed", "counts": "counts"}

    extra: Mapping[str, Any] = field(default_factory=dict, metadata=serialize.SPREAD)
    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        return not failed(self.findings)

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.findings)
