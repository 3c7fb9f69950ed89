"""`mlgit rollback MODEL STAGE`: put back the version a stage held before its current one."""

from __future__ import annotations

from pathlib import Path

from mlgit.actions import tags as release
from mlgit.cli.commands.deprecate import check_remote, render
from mlgit.registry import stages
from mlgit.repo.state import RepoState


def run(cwd: Path, model: str, stage: str, push: str | None, json: bool) -> int:
    """Un-assign the stage's current version and re-assign the previous one."""
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
        lambda scan: stages.plan_rollback(stages.require(repo, scan, model, cfg), stage, rules),
        rules.serialize_pushes,
    )
    render(model, stage, written, json)
    return 0
