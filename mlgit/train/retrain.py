"""Running a retrain: a temporary worktree on the retrain branch, `dvc repro`, checks, report, push, one PR.

The user's work tree is never touched: everything happens in a `git worktree` under a temporary folder,
which shares the repository's DVC cache (so unchanged stages are not re-run and `dvc push` finds the new
outputs) and is removed at the end, whatever happened.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlgit.actions import forge
from mlgit.repo import dvc, git, worktree
from mlgit.system import process
from mlgit.train.plan import TRAILER, RetrainPlan


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retrain did."""

    changed: bool  # dvc repro changed tracked files (else nothing is committed or pushed)
    commit: str | None
    checks_passed: bool | None
    pushed: bool
    dvc_pushed: bool
    pull: forge.ForgeWrite | None  # created | updated | unchanged
    pull_number: int | None
    pull_url: str | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class RetrainRun:
    """`retrain --json`: the plan, the steps it runs, and what it did (None: a dry run, or nothing to do)."""

    plan: RetrainPlan
    steps: tuple[str, ...]
    dry_run: bool
    outcome: RetrainOutcome | None

    @classmethod
    def of(cls, plan: RetrainPlan, pr: bool, dry_run: bool, outcome: RetrainOutcome | None) -> RetrainRun:
        """The document of one `retrain` run."""
        return cls(plan, tuple(plan.steps(pr)), dry_run, outcome)


def _mlgit(wt: Path, *args: str, env: Mapping[str, str] | None = None) -> process.Completed:
    return process.run([sys.executable, "-m", "mlgit", "-C", str(wt), *args], cwd=wt, env=env, check=False)


def execute(
    root: Path, plan: RetrainPlan, base_branch: str, gh: forge.GitHub | None, env: Mapping[str, str] | None = None
) -> RetrainOutcome:
    """Retrain in a temporary worktree and publish the branch (and, given a forge client, the one PR)."""
    env = dict(os.environ if env is None else env)
    notes: list[str] = []
    with worktree.temporary(root, plan.head, cache="shared", prefix="mlgit-retrain-") as wt:
        git.switch_new(wt, plan.branch)
        dvc.checkout(wt)  # deps from the shared cache
        if plan.imports:
            dvc.update(wt, plan.imports)
        dvc.repro(wt)
        if not git.has_changes(wt):  # tracked and untracked: what dvc repro wrote
            notes.append("dvc repro changed nothing: no commit, no push")
            return RetrainOutcome(False, None, None, False, False, None, None, None, tuple(notes))
        message = (
            f"Retrain {plan.model} ({plan.trigger})\n\n" + "\n".join(plan.reasons) + f"\n\n{TRAILER}: {plan.trigger}\n"
        )
        commit = git.commit_all(wt, message)
        trusted = {**env, "MLGIT_TRUSTED_ARTIFACT": "1"}  # this job built the model itself, just now
        passed = _mlgit(wt, "check", env=trusted).returncode == 0
        report = Path(wt).parent / "report.md"
        made = _mlgit(wt, "report", "--format", "md", "--output", str(report), env=trusted)
        body = report.read_text(encoding="utf-8") if made.returncode == 0 and report.is_file() else made.err[-2000:]
        dvc_pushed = False
        if dvc.default_remote(wt) is not None:
            dvc.push(wt)
            dvc_pushed = True
        else:
            notes.append("no default DVC remote: outputs not pushed")
        pushed = "origin" in git.remotes(root)
        if pushed:
            git.force_push_branch(wt, "origin", plan.branch)
        else:
            notes.append("no 'origin' remote: the branch stays local")
        action, number, url = None, None, None
        if gh is not None and pushed:
            title = f"Retrain {plan.model} ({plan.trigger})"
            action, pull = forge.one_pull(gh, plan.branch, base_branch, title, body, draft=not passed)
            number, url = pull.number, pull.url
        elif gh is not None:
            notes.append("no pull request without a pushed branch")
    return RetrainOutcome(True, commit, passed, pushed, dvc_pushed, action, number, url, tuple(notes))
