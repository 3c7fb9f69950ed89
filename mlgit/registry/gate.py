"""The promotion gate as one reusable step: resolve the baseline, read both sides, apply the policy.

`promote`, `check model` and `report` all call this, so a pull-request check predicts the promotion decision.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mlgit.config.settings import BaseRule, Config, Gate, Model
from mlgit.errors import MlgitError
from mlgit.registry import baseline, policy
from mlgit.registry import tags as registry
from mlgit.registry.baseline import Baseline
from mlgit.repo import metrics
from mlgit.repo.values import number

if TYPE_CHECKING:
    from mlgit.repo.state import RepoState


@dataclass(frozen=True)
class GateResult:
    """The baselines, both metric snapshots and the policy's decision for one model."""

    model: Model
    baseline: baseline.Baseline  # the primary one: versions are bumped against it
    candidate: metrics.Snapshot
    base_metrics: metrics.Snapshot | None
    decision: policy.Decision  # overall rules against every base and, when `slices` is on, each slice's rules
    slices: tuple[policy.SliceResult, ...] = ()
    others: tuple[Baseline, ...] = ()  # the further bases every gate also held against


def evaluate(
    repo: RepoState,
    cfg: Config,
    model: Model,
    candidate_rev: str | None,
    base_spec: str | None = None,
    events: list[registry.Event] | None = None,
) -> GateResult:
    """Gate `model` at `candidate_rev` (None: the work tree) against `base_spec` (default: its policy's bases)."""
    evts = registry.events(repo, model.name) if events is None else events
    rules = (BaseRule(base_spec),) if base_spec else model.policy.bases
    with baseline.setting(None if base_spec else f"models.{model.name}.policy.base"):
        bases = _distinct([(rule, resolve(repo, model, rule.spec, evts)) for rule in rules])
    base = bases[0][1]
    label = "work tree" if candidate_rev is None else f"commit {candidate_rev[:12]}"
    candidate = metrics.read(repo, model.metrics, candidate_rev, label, worktree_fallback=True)
    if not candidate.any_present:
        reasons = [f.why for f in candidate.files if f.why and "not committed" not in f.why]
        raise MlgitError(
            f"none of {model.name}'s metrics files exist in the {label}: {', '.join(model.metrics)}"
            + "".join(f"; {why}" for why in reasons),
            hint="run the pipeline (dvc repro) and commit the metrics file",
        )
    base_metrics = _read(repo, model, base)
    decision = policy.evaluate(_against(model.policy.gates, bases[0][0], primary=True), candidate, base_metrics)
    for rule, other in bases[1:]:
        more = policy.evaluate(_against(model.policy.gates, rule, primary=False), candidate, _read(repo, model, other))
        decision = policy.also_against(decision, more, other.label)
    slices: tuple[policy.SliceResult, ...] = ()
    if model.slices:
        slices = tuple(policy.slice_results(model.policy.gates, candidate, base_metrics))
        decision = policy.with_slices(decision, slices)
    return GateResult(model, base, candidate, base_metrics, decision, slices, tuple(b for _, b in bases[1:]))


def resolve(repo: RepoState, model: Model, spec: str, evts: list[registry.Event]) -> baseline.Baseline:
    """One base of `model`: `best` here (it needs the gates), the other forms in the one resolver."""
    found = best(repo, model, evts) if spec == "best" else baseline.resolve(repo, spec, model.name, evts)
    return baseline.before_first_release(repo, found)


def best(repo: RepoState, model: Model, evts: list[registry.Event]) -> baseline.Baseline:
    """The release with the best value of the model's first gated metric so far (ties: the later release)."""
    active = registry.releases(evts)
    if not active:
        return baseline.Baseline("none", "no release yet", None)
    chosen, top = active[-1], None
    if model.policy.gates:
        g = model.policy.gates[0]
        for e in active:
            raw, where = metrics.read(repo, model.metrics, e.commit, e.tag).lookup(g.metric)
            value = number(raw) if where is not None else None
            if value is not None and (top is None or (value >= top if g.higher_is_better else value <= top)):
                chosen, top = e, value
    what = f"best {model.policy.gates[0].metric} so far" if top is not None else "best so far"
    return baseline.Baseline("release", f"{chosen.tag} ({what})", chosen.commit, chosen.version, chosen.tag)


def _distinct(
    bases: list[tuple[BaseRule, baseline.Baseline]],
) -> list[tuple[BaseRule, baseline.Baseline]]:
    # `best` is often the last release itself: the same comparison twice would only repeat every line.
    out: list[tuple[BaseRule, baseline.Baseline]] = []
    for rule, b in bases:
        allowance = (rule.max_regression, rule.max_regression_rel)
        same = [o for r, o in out if o.commit == b.commit and (r.max_regression, r.max_regression_rel) == allowance]
        if not out or (not same and b.commit is not None):
            out.append((rule, b))
    return out


def _against(gates: tuple[Gate, ...], rule: BaseRule, *, primary: bool) -> tuple[Gate, ...]:
    """The gates as they hold against one base: its own allowances, if set; `min_improvement` only on the primary."""
    out = []
    for g in gates:
        if rule.max_regression is not None or rule.max_regression_rel is not None:
            g = replace(g, max_regression=rule.max_regression, max_regression_rel=rule.max_regression_rel)
        out.append(g if primary else replace(g, min_improvement=None))
    return tuple(out)


def _read(repo: RepoState, model: Model, base: baseline.Baseline) -> metrics.Snapshot | None:
    return None if base.commit is None else metrics.read(repo, model.metrics, base.commit, base.label)
