"""The promotion gate as one reusable step: resolve the baseline, read both sides, apply the policy.

`promote`, `check model` and `report` all call this, so a pull-request check predicts the promotion decision.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlgit.config.settings import CONFIG_NAME, BaseRule, Config, Gate, Model
from mlgit.errors import MlgitError
from mlgit.registry import baseline, policy
from mlgit.registry import tags as registry
from mlgit.registry.baseline import Baseline
from mlgit.repo import metrics
from mlgit.system import yamlsource

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
        bases = _distinct([(rule, resolve(repo, model, rule.spec, evts, configured=not base_spec)) for rule in rules])
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
    gates = _against(model.policy.gates, bases[0][0], primary=True)
    decision = policy.evaluate(gates, candidate, base_metrics)
    slices = policy.slice_results(gates, candidate, base_metrics) if model.slices else []
    for rule, other in bases[1:]:
        # Every gate holds against each base, and so does every slice of it.
        gates, other_metrics = _against(model.policy.gates, rule, primary=False), _read(repo, model, other)
        decision = policy.also_against(decision, policy.evaluate(gates, candidate, other_metrics), other.label)
        if model.slices:
            slices += policy.slice_results(gates, candidate, other_metrics, other.label)
    decision, slices = _pointed(repo.root, model, decision, slices)
    decision = policy.with_slices(decision, slices)
    others = tuple(b for _, b in bases[1:])
    return GateResult(model, base, candidate, base_metrics, decision, tuple(slices), others)


def _pointed(
    root: Path, model: Model, decision: policy.Decision, slices: list[policy.SliceResult]
) -> tuple[policy.Decision, list[policy.SliceResult]]:
    """A failed bound's message ends with where the bound is set (`mlgit.yaml:17`): that line is what to change."""
    bounds = ("min", "max")
    failed = [r for r in decision.results if r.rule in bounds and not r.passed]
    failed += [s.result for s in slices if s.result is not None and s.result.rule in bounds and not s.result.passed]
    if not failed:
        return decision, slices
    try:
        raw = (root / CONFIG_NAME).read_bytes()
    except OSError:
        return decision, slices
    lines = {
        (g.metric, b): yamlsource.line_of(raw, ["models", model.name, "policy", "gates", g.metric, b])
        for g in model.policy.gates
        for b in bounds
    }

    def point(r: policy.RuleResult, metric: str) -> policy.RuleResult:
        line = lines.get((metric, r.rule)) if r.rule in bounds and not r.passed else None
        return r if line is None else replace(r, message=f"{r.message} ({CONFIG_NAME}:{line})", line=line)

    results = tuple(point(r, r.metric) for r in decision.results)
    pointed = [replace(s, result=point(s.result, s.metric)) if s.result is not None else s for s in slices]
    return replace(decision, results=results), pointed


def resolve(
    repo: RepoState, model: Model, spec: str, evts: list[registry.Event], *, configured: bool = False
) -> baseline.Baseline:
    """One base of `model`, from the one resolver; before any release, a change's merge-base (see there).

    `configured`: `spec` is the model's `policy.base`, not a `--base` given for this run."""
    resolved = baseline.resolve(repo, spec, model, evts, configured=configured)
    return baseline.before_first_release(repo, resolved)


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
