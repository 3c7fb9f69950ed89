"""`mlgit check schema`: classify each schema change against the base revision as breaking or compatible."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlgit.checks import data as datacheck
from mlgit.checks import schema as schemadiff
from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.registry import baseline
from mlgit.render import datachecks
from mlgit.render import findings as shared
from mlgit.render.style import Style
from mlgit.repo import git, trust
from mlgit.repo.state import RepoState, target_branch
from mlgit.results import serialize
from mlgit.results.finding import failed
from mlgit.results.run import Revision


def run(cwd: Path, base: str | None, json: bool) -> int:
    """Compare schema files and the data's columns with `base`; exit 1 on a breaking change not accepted."""
    root = git.toplevel(cwd)
    # The default branch (the base of `main`) comes from the default branch's mlgit.yaml, not the change's.
    repo = RepoState(root, None, target_branch(os.environ))
    cfg = trust.settings(repo, config.load(root))
    repo = repo.with_branch(cfg.ci.default_branch)
    # A model's version is read as `mlgit check` and `mlgit report` read it; `main` or a REV keeps its own label.
    rev, notes = datacheck.data_base(repo, cfg, base) if base and baseline.names_a_version(base) else (base, [])
    ref = baseline.resolve(repo, rev or "main")
    assert ref.commit is not None
    found = notes + schemadiff.schema_findings(repo, cfg, rev)
    if json:
        doc = shared.document(found, command="check schema", base=Revision(ref.commit, ref.label))
        sys.stdout.write(serialize.dumps(doc) + "\n")
        return EXIT_FAILED if failed(found) else EXIT_OK
    style = Style.for_stdout()
    if not cfg.datasets:
        sys.stdout.write(f"no datasets declared in {config.CONFIG_NAME}: nothing to compare\n")
        return EXIT_OK
    lines = [style(f"Schema changes vs {ref.label}", "bold")]
    for ds in cfg.datasets:
        mine = [f for f in found if f.subject == ds.name]
        header = style(ds.schema_path, "dim")
        if not mine:
            lines += [style(ds.name, "bold") + f"  {header}", "  no changes"]
            continue
        lines += datachecks.dataset_block(ds.name, header, mine, style, notable=("schema.",))
    lines.append(datachecks.verdict(found, style))
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_FAILED if failed(found) else EXIT_OK
