"""The promotion policy: each gate's rules evaluated on a candidate against a baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgit.config import Gate
from mlgit.metrics import Snapshot
from mlgit.valuefile import Scalar, number


@dataclass(frozen=True)
class RuleResult:
    """One rule of one gate: a finding with a stable code, the values compared and the threshold."""

    code: str
    metric: str
    rule: str
    passed: bool
    candidate: Scalar
    baseline: Scalar
    threshold: float | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (lineage, reports, --json)."""
        return {
            "code": self.code,
            "metric": self.metric,
            "rule": self.rule,
            "passed": self.passed,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "threshold": self.threshold,
            "message": self.message,
        }


@dataclass(frozen=True)
class Decision:
    """The policy's verdict on a candidate."""

    results: tuple[RuleResult, ...]
    first_release: bool
    improved: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when every rule passed."""
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        """The rules that failed."""
        return tuple(r for r in self.results if not r.passed)


def _eps(ref: float) -> float:
    # Metrics written with rounding are compared up to float noise, never more.
    return 1e-12 * max(1.0, abs(ref))


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def evaluate(gates: tuple[Gate, ...], candidate: Snapshot, baseline: Snapshot | None) -> Decision:
    """Evaluate every gate; a missing baseline means a first release where only bounds apply."""
    results: list[RuleResult] = []
    improved: list[str] = []
    for gate in gates:
        results.extend(_gate(gate, candidate, baseline, improved))
    return Decision(tuple(results), baseline is None, tuple(improved))


def _gate(gate: Gate, candidate: Snapshot, baseline: Snapshot | None, improved: list[str]) -> list[RuleResult]:
    m = gate.metric
    raw, where = candidate.lookup(m)
    if where is None:
        files = ", ".join(f.path for f in candidate.files)
        return [
            RuleResult(
                "model.metric-missing",
                m,
                "present",
                False,
                None,
                None,
                None,
                f"{m} is missing from the candidate's metrics ({files})",
            )
        ]
    cand = number(raw)
    if cand is None:
        return [
            RuleResult(
                "model.metric-not-numeric",
                m,
                "numeric",
                False,
                raw,
                None,
                None,
                f"{m} = {raw!r} in {where} is not a finite number",
            )
        ]
    out: list[RuleResult] = []
    if gate.min is not None:
        ok = cand >= gate.min - _eps(gate.min)
        msg = f"{_fmt(cand)} {'>=' if ok else '<'} min {_fmt(gate.min)}"
        out.append(RuleResult("model.metric-below-min", m, "min", ok, cand, None, gate.min, msg))
    if gate.max is not None:
        ok = cand <= gate.max + _eps(gate.max)
        msg = f"{_fmt(cand)} {'<=' if ok else '>'} max {_fmt(gate.max)}"
        out.append(RuleResult("model.metric-above-max", m, "max", ok, cand, None, gate.max, msg))
    if baseline is None:
        return out
    braw, bwhere = baseline.lookup(m)
    if bwhere is None:
        msg = f"{m} is missing from the baseline ({baseline.label}); cannot compare"
        out.append(RuleResult("model.metric-missing-baseline", m, "regression", False, cand, None, None, msg))
        return out
    base = number(braw)
    if base is None:
        msg = f"{m} = {braw!r} in the baseline ({baseline.label}) is not a finite number"
        out.append(RuleResult("model.metric-not-numeric", m, "regression", False, cand, braw, None, msg))
        return out
    worse = (base - cand) if gate.higher_is_better else (cand - base)
    if -worse > _eps(base):
        improved.append(m)
    allowances = []
    if gate.max_regression is not None:
        allowances.append(gate.max_regression)
    if gate.max_regression_rel is not None:
        allowances.append(gate.max_regression_rel * abs(base))
    allowed = min(allowances) if allowances else 0.0
    ok = worse <= allowed + _eps(base)
    change = cand - base
    what = "no worse than" if not allowances else f"at most {_fmt(allowed)} worse than"
    msg = f"{_fmt(cand)} vs {_fmt(base)} ({change:+.6g}); must be {what} the baseline ({gate.direction} is better)"
    out.append(RuleResult("model.metric-regressed", m, "regression", ok, cand, base, allowed, msg))
    if gate.min_improvement is not None:
        gain = -worse
        ok = gain >= gate.min_improvement - _eps(base)
        msg = f"improved by {gain:+.6g}; required at least {_fmt(gate.min_improvement)}"
        out.append(RuleResult("model.metric-not-improved", m, "improvement", ok, cand, base, gate.min_improvement, msg))
    return out
