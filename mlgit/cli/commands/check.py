"""`mlgit check`: data, schema and model checks together, one report and one exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mlgit.checks.check import Check, Context, Family, Stale
from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.render import findings as render
from mlgit.render.style import Style
from mlgit.repo import git, trust
from mlgit.repo.state import RepoState, target_branch
from mlgit.results import serialize
from mlgit.results.finding import Finding, failed


def collect(
    repo: RepoState, cfg: config.Config, base: str | None, checks: Sequence[Check] | None = None
) -> list[Finding]:
    """Every finding of every check (default: the suite `mlgit report` runs too), in the order data, schema, models."""
    if checks is None:
        # Imported here: `mlgit --help` must not pay for the check modules.
        from mlgit.checks.suite import CHECKS

        checks = CHECKS
    from mlgit.checks.data import data_base  # imported here: `mlgit --help` must not pay for the check modules

    # `dvc status` runs while the data, schema and artifact checks do (its answer is only needed for the models).
    stale = Stale.asking(repo.root) if cfg.models and any(c.family is Family.MODEL for c in checks) else None
    rev, found = data_base(repo, cfg, base)
    ctx = Context(repo, cfg, base=base, data_base=rev, stale=stale)
    for c in checks:
        found += c.findings(ctx)
    return found


def run(cwd: Path, base: str | None, json: bool) -> int:
    """Run all checks on the work tree; exit 1 when any finding is an error."""
    root = git.toplevel(cwd)
    # The base, the gate and what may be unpickled: from the default branch's mlgit.yaml, not the change's.
    repo = RepoState(root, None, target_branch(os.environ))
    cfg = trust.settings(repo, config.load(root))
    found = collect(repo.with_branch(cfg.ci.default_branch), cfg, base)
    if json:
        doc = render.document(
            found,
            command="check",
            base=base,
            datasets=[d.name for d in cfg.datasets],
            models=[m.name for m in cfg.models],
        )
        sys.stdout.write(serialize.dumps(doc) + "\n")
    else:
        title = "Checks: data, schema, models" + (f" (base: {base})" if base else "")
        sys.stdout.write("\n".join(render.lines(found, Style.for_stdout(), title=title)) + "\n")
    return EXIT_FAILED if failed(found) else EXIT_OK
