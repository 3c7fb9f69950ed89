"""`mlgit check model`: stale pipeline, promotion policy (overall and per slice), artifact loading and latency."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlgit.checks import model as modelcheck
from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.errors import MlgitError
from mlgit.render import findings as render
from mlgit.render.style import Style
from mlgit.repo import git, trust
from mlgit.repo.state import RepoState, target_branch
from mlgit.results import serialize
from mlgit.results.finding import failed


def run(cwd: Path, model: str | None, base: str | None, json: bool) -> int:
    """Check one model (or every model) in the work tree against its baseline."""
    root = git.toplevel(cwd)
    # The base, the gate and what may be unpickled: from the default branch's mlgit.yaml, not the change's.
    repo = RepoState(root, None, target_branch(os.environ))
    cfg = trust.settings(repo, config.load(root))
    if model is None and not cfg.models:
        raise MlgitError(f"{config.CONFIG_NAME} declares no models", hint="add one under 'models:'")
    models = [cfg.model(model)] if model is not None else list(cfg.models)
    found = modelcheck.findings(repo.with_branch(cfg.ci.default_branch), cfg, models, base)
    if json:
        doc = render.document(found, command="check model", models=[m.name for m in models], base=base)
        sys.stdout.write(serialize.dumps(doc) + "\n")
    else:
        title = "Model checks" + (f" (base: {base})" if base else "")
        sys.stdout.write("\n".join(render.lines(found, Style.for_stdout(), title=title)) + "\n")
    return EXIT_FAILED if failed(found) else EXIT_OK
