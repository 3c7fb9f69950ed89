"""`mlgit metrics diff`: metrics and params of the work tree against a revision."""

from __future__ import annotations

import sys
from pathlib import Path

from mlgit.config import settings as config
from mlgit.errors import MlgitError
from mlgit.registry import baseline
from mlgit.repo import git, metrics
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.run import Revision


def _files(root: Path, model: str | None) -> tuple[list[str], list[str], str | None]:
    if (root / config.CONFIG_NAME).exists():
        cfg = config.load(root)
        chosen = [cfg.model(model)] if model else list(cfg.models)
        mfiles = list(dict.fromkeys(p for m in chosen for p in m.metrics))
        pfiles = list(dict.fromkeys(p for m in chosen for p in m.params))
        return mfiles, pfiles, cfg.ci.default_branch
    if model:
        raise MlgitError(f"no {config.CONFIG_NAME} in {root}, so no model {model!r}", hint="run 'mlgit init'")
    from mlgit.repo import dvc as pipeline

    project = pipeline.read_project(root)
    if not project.metrics:
        raise MlgitError("no metrics files found: no mlgit.yaml and no metrics in dvc.yaml", hint="run 'mlgit init'")
    return project.metrics, project.params, None


def _versioned(repo: RepoState, name: str | None, spec: str) -> config.Model | None:
    """The model whose version `spec` names (`last-release`, `best`, `stage:NAME`), as the default branch
    declares its gates (they say what `best` means); None for a revision."""
    if not baseline.names_a_version(spec):
        return None
    from mlgit.repo import trust

    if not (repo.root / config.CONFIG_NAME).exists():
        raise MlgitError(f"--base {spec} names a model's version, and there is no {config.CONFIG_NAME}")
    cfg = trust.settings(repo, config.load(repo.root))
    if name is None and len(cfg.models) != 1:
        raise MlgitError(
            f"--base {spec} names a version of one model; {config.CONFIG_NAME} declares {len(cfg.models)}",
            hint="pass --model NAME",
        )
    return cfg.model(name) if name else cfg.models[0]


def run(cwd: Path, base: str | None, model: str | None, as_json: bool, show_all: bool) -> int:
    """Compare metrics and params of the work tree with `base` (default: merge-base with the default branch)."""
    root = git.toplevel(cwd)
    mfiles, pfiles, default_branch = _files(root, model)
    repo = RepoState(root, default_branch)
    spec = base or "main"
    ref = baseline.resolve(repo, spec, _versioned(repo, model, spec))
    if ref.commit is None:
        raise MlgitError(f"--base {spec}: {ref.label}", hint="pass --base main or a git revision")
    old = metrics.read(repo, [*mfiles, *pfiles], ref.commit, ref.label)
    new = metrics.read(repo, [*mfiles, *pfiles], None, "work tree")
    mdiff = metrics.diff(old.subset(mfiles), new.subset(mfiles))
    pdiff = metrics.diff(old.subset(pfiles), new.subset(pfiles))
    if as_json:
        doc = metrics.MetricsDiff.of(Revision(ref.commit, ref.label), mdiff, pdiff)
        sys.stdout.write(serialize.dumps(doc) + "\n")
        return 0
    from mlgit.render import terminal
    from mlgit.render.style import Style

    style = Style.for_stdout()
    lines = [style(f"Work tree vs {ref.label}", "dim"), ""]
    lines += terminal.file_diffs("Metrics", mdiff, style, show_same=True)
    if pfiles:
        lines += [
            "",
            *terminal.file_diffs("Params" + ("" if show_all else " (changed)"), pdiff, style, show_same=show_all),
        ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
