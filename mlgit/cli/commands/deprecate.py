"""`mlgit deprecate MODEL`: mark a model deprecated with GTO's `name@deprecated` tag.

Also holds the rendering shared by the registry-writing commands (assign, rollback, deprecate).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlgit.actions import tags as release
from mlgit.config.settings import Registry
from mlgit.errors import MlgitError
from mlgit.registry import stages
from mlgit.render.style import Style
from mlgit.repo import git
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.status import Status


def check_remote(root: Path, push: str | None) -> None:
    """Refuse a push to a remote that does not exist, before anything is written."""
    if push is not None and push not in git.remotes(root):
        raise MlgitError(f"no remote named '{push}'", hint=f"remotes here: {', '.join(git.remotes(root)) or '(none)'}")


StagePlanner = Callable[[stages.ModelState, Registry], stages.TagPlan]


def change_stage(cwd: Path, model: str, stage: str, push: str | None, json: bool, planner: StagePlanner) -> int:
    """Write one stage change (assign or rollback) through the tag writer, planned on the registry as read."""
    repo = RepoState.open(cwd)
    cfg = stages.load_config(repo.root)
    rules = stages.rules_of(cfg)
    stages.check_stage(stage, rules)
    check_remote(repo.root, push)
    written = release.write(
        repo, model, push, lambda scan: planner(stages.require(repo, scan, model, cfg), rules), rules.serialize_pushes
    )
    render(model, stage, written, json)
    return 0


def run(cwd: Path, model: str, push: str | None, json: bool) -> int:
    """Deprecate a model (no-op when it already is)."""
    repo = RepoState.open(cwd)
    root = repo.root
    cfg = stages.load_config(root)
    check_remote(root, push)
    written = release.write(
        repo,
        model,
        push,
        lambda scan: stages.plan_deprecate(stages.require(repo, scan, model, cfg), scan.names),
        stages.rules_of(cfg).serialize_pushes,
    )
    render(model, None, written, json)
    return 0


@dataclass(frozen=True)
class WriteDoc:
    """What one registry write (assign, rollback, deprecate) did, as `--json` shows it."""

    model: str
    stage: str | None
    status: Status
    version: str | None
    commit: str | None
    previous: str | None
    tags: tuple[str, ...]
    pushed_to: str | None
    warnings: tuple[str, ...]

    @classmethod
    def of(cls, model: str, stage: str | None, written: release.Written[stages.TagPlan]) -> WriteDoc:
        """The document of a written plan."""
        plan = written.plan
        return cls(
            model,
            stage,
            plan.status,
            str(plan.version) if plan.version else None,
            plan.commit,
            plan.previous.label if plan.previous else None,
            tuple(t.name for t in plan.tags),
            written.pushed_to,
            (*plan.notes, *written.warnings),
        )


def render(model: str, stage: str | None, written: release.Written[stages.TagPlan], as_json: bool) -> None:
    """Say what a registry write did."""
    if as_json:
        sys.stdout.write(serialize.dumps(WriteDoc.of(model, stage, written)) + "\n")
        return
    for w in (*written.plan.notes, *written.warnings):
        sys.stderr.write(f"warning: {w}\n")
    plan = written.plan
    style = Style.for_stdout()
    tags = ", ".join(t.name for t in plan.tags)
    where = f" and pushed to '{written.pushed_to}'" if written.pushed_to else ""
    commit = (plan.commit or "")[:8]
    if plan.status is stages.StageStatus.ALREADY_ASSIGNED:
        assert plan.previous is not None
        text = f"{model} {plan.version} is already in {stage} ({plan.previous.event.tag}); nothing to do"
    elif plan.status is stages.StageStatus.ALREADY_DEPRECATED:
        text = f"{model} is already deprecated; nothing to do"
    elif plan.status is stages.StageStatus.ASSIGNED:
        was = f" (replacing {plan.previous.label})" if plan.previous else ""
        text = style(f"Assigned {model} {plan.version} to {stage}{was}: tagged {tags} on {commit}{where}", "green")
    elif plan.status is stages.StageStatus.ROLLED_BACK:
        assert plan.previous is not None
        label = str(plan.version) if plan.version else commit
        text = style(
            f"Rolled back {model} in {stage}: {plan.previous.label} -> {label} (tagged {tags}){where}", "green"
        )
    else:
        text = style(f"Deprecated {model}: tagged {tags} on {commit}{where}", "yellow")
    sys.stdout.write(text + "\n")
