"""`mlgit check repro`: re-run the pipeline in a temporary worktree; compare every output with dvc.lock."""

from __future__ import annotations

import sys
from pathlib import Path

from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.errors import UsageError
from mlgit.model import artifact
from mlgit.render import findings as render
from mlgit.render.style import Style
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.finding import failed
from mlgit.train import repro


def run(cwd: Path, model: str | None, runs: int, json: bool) -> int:
    """Exit 1 when an output is not reproducible (or the pipeline fails), else 0."""
    if not 1 <= runs <= 10:
        raise UsageError(f"--runs {runs}: between 1 and 10")
    repo = RepoState.open(cwd)
    cfg = config.load(repo.root)
    m = cfg.model(model)
    # The recorded model is loaded only under the rules `mlgit check model` applies to it.
    trusted = artifact.pickle_trust(repo, m, [("HEAD", repo.head)] if repo.head else [])
    verdict, found = repro.check(repo, m, runs, trusted)
    if json:
        doc = render.document(found, command="check repro", verdict=verdict)
        sys.stdout.write(serialize.dumps(doc) + "\n")
    else:
        title = f"Reproducibility: {m.name} ({verdict.verdict})"
        sys.stdout.write("\n".join(render.lines(found, Style.for_stdout(), title=title)) + "\n")
    return EXIT_FAILED if failed(found) else EXIT_OK
