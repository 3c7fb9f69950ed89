"""`mlgit assign MODEL STAGE`: assign a release to a stage with a GTO stage tag (`name#stage#N`)."""

from __future__ import annotations

from pathlib import Path

from mlgit.actions import tags as release
from mlgit.cli.commands.deprecate import check_remote, render
from mlgit.registry import stages
from mlgit.repo.state import RepoState


def run(cwd: Path, model: str, stage: str, version: str | None, push: str | None, json: bool) -> int:
    """Assign `version` (default: the latest release) of `model` to `stage`."""
    repo = RepoState.open(cwd)
    root = repo.root
    cfg = stages.load_config(root)
    rules = stages.rules_of(cfg)
    stages.check_stage(stage, rules)
    check_remote(root, push)
    written = release.write(
        repo,
        model,
        push,
        lambda scan: stages.plan_assign(stages.require(repo, scan, model, cfg), stage, version, rules),
        rules.serialize_pushes,
    )
    render(model, stage, written, json)
    return 0
