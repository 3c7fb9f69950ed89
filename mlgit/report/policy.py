"""A pull request's policy change, side by side: the default branch's rules (which judge the change) and the
change's own (which take effect once merged), as rows every report format shows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from mlgit.config.settings import BaseRule, Config, Gate, Model, Policy


@dataclass(frozen=True)
class PolicyRow:
    """One setting of the promotion policy on both sides (None: not set on that side, e.g. a gate removed)."""

    setting: str  # base | first_version | allow_stale | release_branches | slices | gates.<metric>
    old: Any  # the default branch's value, JSON-ready
    new: Any  # the change's value
    changed: bool


@dataclass(frozen=True)
class PolicyChange:
    """A model's policy as the default branch has it (`old`, it judges this change) and as the change sets it."""

    trusted_from: str  # the default branch's label, e.g. origin/main
    rows: tuple[PolicyRow, ...]

    @property
    def changed(self) -> tuple[PolicyRow, ...]:
        """The rows that differ."""
        return tuple(r for r in self.rows if r.changed)


def _base(rule: BaseRule) -> Any:
    if rule.max_regression is None and rule.max_regression_rel is None:
        return rule.spec
    out: dict[str, Any] = {"base": rule.spec}
    if rule.max_regression is not None:
        out["max_regression"] = rule.max_regression
    if rule.max_regression_rel is not None:
        out["max_regression_rel"] = rule.max_regression_rel
    return out


def _gate(gate: Gate | None) -> dict[str, Any] | None:
    """A gate's rules as set (unset rules left out), in mlgit.yaml's words."""
    if gate is None:
        return None
    return {f.name: getattr(gate, f.name) for f in fields(Gate) if f.name != "metric" and getattr(gate, f.name) is not None}


def _settings(policy: Policy, slices: bool) -> dict[str, Any]:
    return {
        "base": [_base(b) for b in policy.bases],
        "first_version": policy.first_version,
        "allow_stale": policy.allow_stale,
        "release_branches": list(policy.release_branches),
        "slices": slices,
    }


def change_of(cfg: Config, model: Model) -> PolicyChange | None:
    """The side-by-side policy of `model` when the change under review sets it differently (None: it does not).

    `model` is the model as it applies (the default branch's policy); the change's own is in `cfg.trust`.
    """
    source = cfg.trust
    mine = next((m for m in source.proposed if m.name == model.name), None) if source is not None else None
    if source is None or mine is None or source.label is None:
        return None
    old, new = _settings(model.policy, model.slices), _settings(mine.policy, mine.slices)
    rows = [PolicyRow(k, old[k], new[k], old[k] != new[k]) for k in old]
    theirs = {g.metric: g for g in model.policy.gates}
    ours = {g.metric: g for g in mine.policy.gates}
    for metric in dict.fromkeys([*theirs, *ours]):
        a, b = _gate(theirs.get(metric)), _gate(ours.get(metric))
        rows.append(PolicyRow(f"gates.{metric}", a, b, a != b))
    return PolicyChange(source.label, tuple(rows))
