"""The `Check` protocol: a check is a value that turns one `Context` into findings.

`mlgit check` and `mlgit report` run the same tuple of checks (`mlgit.checks.suite.CHECKS`); a test passes its
own checks instead. Checks only read: anything that changes the repository is an action (`mlgit.actions`).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, cast

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


class Stale:
    """A `dvc status` result (`repo.dvc.stale_stages`) the caller already has; None inside: DVC could not tell.

    `Stale.asking(root)` starts `dvc status` in a thread (it is a subprocess of most of a second when its cached
    answer does not apply) so that it runs while the data, schema and artifact checks do; reading `stages` waits
    for it, and an error it raised is raised there, where the model check would have raised it.
    """

    def __init__(self, stages: dict[str, list[str]] | None = None, *, pending: Future[Any] | None = None) -> None:
        self._stages = stages
        self._pending = pending

    @property
    def stages(self) -> dict[str, list[str]] | None:
        """Stage name -> why it is stale; None: DVC could not tell."""
        if self._pending is not None:
            return cast("dict[str, list[str]] | None", self._pending.result())
        return self._stages

    @classmethod
    def asking(cls, root: Path) -> Stale:
        """`dvc status` of the work tree, started now in the background."""
        from concurrent.futures import ThreadPoolExecutor

        from mlgit.repo import dvc

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlgit-dvc-status")
        try:
            return cls(pending=pool.submit(dvc.stale_stages, root))
        finally:
            pool.shutdown(wait=False)


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
