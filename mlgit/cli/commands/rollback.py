"""`mlgit rollback MODEL STAGE`: put back the version a stage held before its current one."""

from __future__ import annotations

from pathlib import Path

from mlgit.cli.commands.deprecate import change_stage
from mlgit.registry import stages


def run(cwd: Path, model: str, stage: str, push: str | None, json: bool) -> int:
    """Un-assign the stage's current version and re-assign the previous one."""
    return change_stage(cwd, model, stage, push, json, lambda art, rules: stages.plan_rollback(art, stage, rules))
