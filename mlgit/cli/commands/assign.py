"""`mlgit assign MODEL STAGE`: assign a release to a stage with a GTO stage tag (`name#stage#N`)."""

from __future__ import annotations

from pathlib import Path

from mlgit.cli.commands.deprecate import change_stage
from mlgit.registry import stages


def run(cwd: Path, model: str, stage: str, version: str | None, push: str | None, json: bool) -> int:
    """Assign `version` (default: the latest release) of `model` to `stage`."""
    return change_stage(
        cwd, model, stage, push, json, lambda art, rules: stages.plan_assign(art, stage, version, rules)
    )
