"""`mlgit check repro`: re-run the pipeline in a temporary worktree; compare every output with dvc.lock."""

from __future__ import annotations

import sys
from pathlib import Path

from mlgit.checks import model as model_check
from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.errors import UsageError
from mlgit.model import artifact
from mlgit.render import findings as render
from mlgit.render.style import Style
from mlgit.repo import trust
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.finding import failed
from mlgit.train import repro


def run(cwd: Path, model: str | None, runs: int, json: bool) -> int:
    """Exit 1 when an output is not reproducible (or the pipeline fails), else 0."""
    if not 1 <= runs <= 10:
        raise UsageError(f"--runs {runs}: between 1 and 10")
    repo = RepoState.open(cwd)
    # The recorded model is loaded only under the rules `mlgit check model` applies to it: the default branch's
    # trust_pickle, and bytes a release or the default branch records (never HEAD, the change itself: issue 12).
    cfg = trust.settings(repo, config.load(repo.root))
    m = cfg.model(model)
    trusted = artifact.pickle_trust(repo, m, model_check.trusted_bases(repo, cfg, m, None))
    verdict, found = repro.check(repo, m, runs, trusted, cfg.trust)
    if json:
        doc = render.document(found, command="check repro", verdict=verdict)
        sys.stdout.write(serialize.dumps(doc) + "\n")
    else:
        title = f"Reproducibility: {m.name} ({verdict.verdict})"
        sys.stdout.write("\n".join(render.lines(found, Style.for_stdout(), title=title)) + "\n")
    return EXIT_FAILED if failed(found) else EXIT_OK
