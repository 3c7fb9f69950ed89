"""The promotion gate as one reusable step: resolve the baseline, read both sides, apply the policy.

`promote`, `check model` and `report` all call this, so a pull-request check predicts the promotion decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlgit.config.settings import Config, Model
from mlgit.errors import MlgitError
from mlgit.registry import baseline, policy
from mlgit.registry import tags as registry
from mlgit.repo import metrics

if TYPE_CHECKING:
    from mlgit.repo.state import RepoState


@dataclass(frozen=True)
class GateResult:
    """The baseline, both metric snapshots and the policy's decision for one model."""

    model: Model
    baseline: baseline.Baseline
    candidate: metrics.Snapshot
    base_metrics: metrics.Snapshot | None
    decision: policy.Decision  # overall rules and, when the model's `slices` is on, each slice's rules
    slices: tuple[policy.SliceResult, ...] = ()


def evaluate(
    repo: RepoState,
    cfg: Config,
    model: Model,
    candidate_rev: str | None,
    base_spec: str | None = None,
    events: list[registry.Event] | None = None,
) -> GateResult:
    """Gate `model` at `candidate_rev` (None: the work tree) against `base_spec` (default: its policy's base)."""
    root = repo.root
    evts = registry.events(repo, model.name) if events is None else events
    spec = base_spec or model.policy.base
    base = baseline.before_first_release(repo, baseline.resolve(repo, spec, model.name, evts))
    label = "work tree" if candidate_rev is None else f"commit {candidate_rev[:12]}"
    candidate = metrics.read(root, model.metrics, candidate_rev, label, worktree_fallback=True)
    if not candidate.any_present:
        raise MlgitError(
            f"none of {model.name}'s metrics files exist in the {label}: {', '.join(model.metrics)}",
            hint="run the pipeline (dvc repro) and commit the metrics file",
        )
    base_metrics = None
    if base.commit is not None:
        base_metrics = metrics.read(root, model.metrics, base.commit, base.label)
    decision = policy.evaluate(model.policy.gates, candidate, base_metrics)
    slices: tuple[policy.SliceResult, ...] = ()
    if model.slices:
        slices = tuple(policy.slice_results(model.policy.gates, candidate, base_metrics))
        decision = policy.with_slices(decision, slices)
    return GateResult(model, base, candidate, base_metrics, decision, slices)
