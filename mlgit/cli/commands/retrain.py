"""`mlgit retrain`: decide whether to retrain and why; retrain on a branch of its own; one pull request."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlgit.actions import forge
from mlgit.cli.commands.comment import client
from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.errors import MlgitError
from mlgit.monitor import judge
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.train import plan as plans
from mlgit.train import retrain


def run(cwd: Path, model: str | None, trigger: str, pr: bool, dry_run: bool, store: str, json: bool) -> int:
    """Print the plan; unless --dry-run (or there is nothing to do), carry it out.

    Exit 1 when the retrained model's checks fail (its pull request, if any, is still opened, as a draft).
    """
    repo = RepoState.open(cwd)
    cfg = config.load(repo.root)
    m = cfg.model(model)
    verdict = judge.latest_verdict(repo, cfg, m, store) if trigger == "drift" else None
    plan = plans.decide(repo, cfg, m, trigger, verdict)
    outcome = None
    if plan.run and not dry_run:
        gh = None
        if pr:
            made = client("github", os.environ)
            if not isinstance(made, forge.GitHub):
                raise MlgitError("retrain pull requests are opened on GitHub only for now")
            gh = made
        outcome = retrain.execute(repo.root, plan, repo.default_branch, gh)
    if json:
        doc = retrain.RetrainRun.of(plan, pr, dry_run, outcome)
        sys.stdout.write(serialize.dumps(doc) + "\n")
        return _code(outcome)
    decision = "retrain" if plan.run else "nothing to do"
    lines = [f"Retrain {plan.model} ({plan.trigger}): {decision}", *(f"  {r}" for r in plan.reasons)]
    if plan.run:
        lines.append("Plan:" if dry_run else "Steps:")
        lines += [f"  {i}. {s}" for i, s in enumerate(plan.steps(pr), 1)]
    if dry_run and plan.run:
        lines.append("--dry-run: nothing was changed")
    if outcome is not None:
        lines += _outcome(plan, outcome)
    sys.stdout.write("\n".join(lines) + "\n")
    return _code(outcome)


def _code(outcome: retrain.RetrainOutcome | None) -> int:
    return EXIT_FAILED if outcome is not None and not outcome.checks_passed else EXIT_OK


def _outcome(plan: plans.RetrainPlan, o: retrain.RetrainOutcome) -> list[str]:
    out = [f"  note: {n}" for n in o.notes]
    if not o.changed:
        return out
    out.append(f"committed {str(o.commit)[:12]} on {plan.branch}; checks {'passed' if o.checks_passed else 'FAILED'}")
    if o.pull is not None:
        draft = " (draft: the checks fail)" if not o.checks_passed else ""
        out.append(f"pull request #{o.pull_number} {o.pull}{draft}: {o.pull_url or ''}".rstrip(": "))
    return out
