"""`mlgit check`: data, schema and model checks together, one report and one exit code."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mlgit.checks.check import Check, Context
from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.render import findings as render
from mlgit.render.style import Style
from mlgit.repo import git, trust
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity, failed


def data_base(repo: RepoState, cfg: config.Config, base: str | None) -> tuple[str | None, Finding | None]:
    """The revision the data and schema checks compare with, for a `--base` given in model terms.

    `last-release` and `stage:NAME` name a model's version: with one model, its commit; with several, the
    data has no single such version, so the merge-base with the default branch (their default) is used, and
    a finding says so. `main` means the merge-base with the default branch, as it does for models.
    """
    from mlgit.registry import baseline

    if base is None or (base != "main" and base != "last-release" and not base.startswith("stage:")):
        return base, None
    if base == "main" or len(cfg.models) == 1:
        return baseline.resolve(repo, base, cfg.models[0].name if cfg.models else None).commit, None
    note = Finding(
        code=Code.CHECK_BASE,
        severity=Severity.INFO,
        subject="data",
        message=f"--base {base} names a version of each model; data and schema are compared with the default branch",
    )
    return None, note


def collect(
    repo: RepoState, cfg: config.Config, base: str | None, checks: Sequence[Check] | None = None
) -> list[Finding]:
    """Every finding of every check (default: the suite `mlgit report` runs too), in the order data, schema, models."""
    if checks is None:
        # Imported here: `mlgit --help` must not pay for the check modules.
        from mlgit.checks.suite import CHECKS

        checks = CHECKS
    rev, note = data_base(repo, cfg, base)
    found = [note] if note is not None else []
    ctx = Context(repo, cfg, base=base, data_base=rev)
    for c in checks:
        found += c.findings(ctx)
    return found


def run(cwd: Path, base: str | None, json: bool) -> int:
    """Run all checks on the work tree; exit 1 when any finding is an error."""
    root = git.toplevel(cwd)
    # The base, the gate and what may be unpickled: from the default branch's mlgit.yaml, not the change's.
    cfg = trust.settings(root, config.load(root))
    found = collect(RepoState(root, cfg.ci.default_branch), cfg, base)
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
