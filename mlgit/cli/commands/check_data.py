"""`mlgit check data`: validate datasets against their schemas and expectations; drift against a base revision."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from mlgit.checks import data as datacheck
from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.registry import baseline
from mlgit.render import datachecks, progress
from mlgit.render import findings as shared
from mlgit.render.style import Style
from mlgit.repo import git, trust
from mlgit.repo.state import RepoState, target_branch
from mlgit.results import serialize
from mlgit.results.codes import Code
from mlgit.results.finding import failed
from mlgit.results.run import Revision


@dataclass(frozen=True)
class DatasetSummary:
    """One dataset's line in `check data --json`."""

    name: str
    path: str
    rows: int | None
    cached: bool
    seconds: float
    passed: bool

    @classmethod
    def of(cls, r: datacheck.DatasetResult) -> DatasetSummary:
        """The summary of one dataset's result."""
        return cls(r.name, r.path, r.rows, r.cached, round(r.seconds, 3), not failed(r.findings))


def _update_profiles(root: Path, cfg: config.Config, report: datacheck.DataReport) -> datacheck.DataReport:
    """The report with each rewritten profile's finding in place of the one that said it was stale."""
    from dataclasses import replace

    from mlgit.actions import profiles

    results = []
    for r in report.results:
        ds = next(d for d in cfg.datasets if d.name == r.name)
        written = profiles.update(root, [ds], [r])
        kept = tuple(f for f in r.findings if f.code is not Code.DATA_PROFILE_STALE)
        results.append(replace(r, findings=kept + tuple(written)))
    return replace(report, results=tuple(results))


def run(
    cwd: Path, datasets: list[str], base: str | None, json: bool, no_cache: bool = False, update_profile: bool = False
) -> int:
    """Check the named datasets (all by default); exit 1 when any finding is an error.

    `update_profile` then rewrites the profiles that no longer describe the data (the check itself never writes).
    """
    root = git.toplevel(cwd)
    # The default branch (the base of `main`) comes from the default branch's mlgit.yaml, not the change's.
    repo = RepoState(root, None, target_branch(os.environ))
    cfg = trust.settings(repo, config.load(root))
    repo = repo.with_branch(cfg.ci.default_branch)
    ticker = progress.ticker() if progress.wanted(sys.stderr, json) else None
    # A model's version is read as `mlgit check` and `mlgit report` read it; `main` or a REV keeps its own label.
    rev, notes = datacheck.data_base(repo, cfg, base) if base and baseline.names_a_version(base) else (base, [])
    report = datacheck.check(repo, cfg, datasets, rev, progress=ticker, use_cache=not no_cache)
    if update_profile:
        report = _update_profiles(root, cfg, report)
    found = notes + report.findings
    base_doc = Revision(report.base.commit, report.base.label) if report.base else None
    if json:
        doc = shared.document(
            found, command="check data", base=base_doc, datasets=[DatasetSummary.of(r) for r in report.results]
        )
        sys.stdout.write(serialize.dumps(doc) + "\n")
        return EXIT_FAILED if failed(found) else EXIT_OK
    style = Style.for_stdout()
    if not report.results:
        sys.stdout.write(f"no datasets declared in {config.CONFIG_NAME}: nothing to check\n")
        return EXIT_OK
    title = "Data checks" + (f" (drift vs {report.base.label})" if report.base else "")
    lines = [style(title, "bold")]
    for r in report.results:
        rows = f"{r.rows} rows" if r.rows is not None else "not read"
        timing = "cached" if r.cached else f"{r.seconds:.2f} s"
        mine = [*r.findings, *(f for f in report.drift if f.subject == r.name)]
        lines += datachecks.dataset_block(r.name, style(f"{r.path}  {rows}  {timing}", "dim"), mine, style)
    general = [f for f in report.drift if f.subject not in {r.name for r in report.results}]
    lines += [style(f.message, "dim") for f in [*notes, *general]]
    lines.append(datachecks.verdict(found, style))
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_FAILED if failed(found) else EXIT_OK
