"""The `Check` protocol: a check is a value that turns one `Context` into findings.

`mlgit check` and `mlgit report` run the same tuple of checks (`mlgit.checks.suite.CHECKS`); a test passes its
own checks instead. Checks only read: anything that changes the repository is an action (`mlgit.actions`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from mlgit.config.settings import Config
from mlgit.repo.state import RepoState
from mlgit.results.finding import Finding


class Family(str, Enum):
    """Which part of the repository a check is about; the report has one section per family."""

    DATA = "data"
    SCHEMA = "schema"
    MODEL = "model"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Stale:
    """A `dvc status` result (`repo.dvc.stale_stages`) the caller already has; None inside: DVC could not tell."""

    stages: dict[str, list[str]] | None


@dataclass(frozen=True)
class Context:
    """Everything a check is given: one value, so a field added later reaches every check unchanged."""

    repo: RepoState  # read once per command: HEAD, blobs and DVC hashes per revision, registry events
    cfg: Config
    # A baseline spec in model terms: REV, `main`, `last-release`, `stage:NAME`; None: each model's policy base.
    base: str | None = None
    # The revision data and schemas are compared with; None: the merge-base with the default branch.
    data_base: str | None = None
    # The pipeline status when the caller already asked DVC (it costs most of a second); None: ask.
    stale: Stale | None = None

    @property
    def root(self) -> Path:
        """The work tree."""
        return self.repo.root


class Check(Protocol):
    """A check of one family: reads the repository, yields what it finds, never writes."""

    @property
    def family(self) -> Family:
        """The report section its findings go under."""

    def findings(self, ctx: Context) -> Iterator[Finding]:
        """Every finding; raises `MlgitError` when the check cannot run at all (the report shows why)."""
