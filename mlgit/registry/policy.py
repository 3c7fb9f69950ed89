"""The promotion policy: each gate's rules evaluated on a candidate against a baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mlgit.config.settings import CONFIG_NAME, Gate
from mlgit.repo.metrics import Snapshot
from mlgit.repo.values import ParamValue, ValueFile, number
from mlgit.results import serialize
from mlgit.results.codes import Code
from mlgit.system import yamlsource


@dataclass(frozen=True)
class RuleResult:
    """One rule of one gate: a finding with a stable code, the values compared and the threshold."""

    code: Code
    metric: str
    rule: str
    passed: bool
    candidate: ParamValue
    baseline: ParamValue
    threshold: float | None
    message: str
    slice: str | None = None  # set when the rule applied to one slice (`slices.<slice>.<metric>`)
    base: str | None = None  # set when the rule held against a further base (`policy.base` lists several)
    # A failed bound (`min`/`max`): the line of mlgit.yaml that sets it (for findings; the message says it too).
    line: int | None = field(default=None, metadata=serialize.OMIT)

    @property
    def notice(self) -> bool:
        """A passed rule worth saying by its own code (a gate's first appearance), not as a plain pass."""
        return self.passed and self.code is Code.MODEL_METRIC_MISSING_BASELINE


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
        msg = f"{m} is missing from the candidate's metrics ({files}){_why(candidate)}{_did_you_mean(m, candidate)}"
        return [RuleResult(Code.MODEL_METRIC_MISSING, m, "present", False, None, None, None, msg)]
    cand = number(raw)
    if cand is None:
        return [
            RuleResult(
                Code.MODEL_METRIC_NOT_NUMERIC,
                m,
                "numeric",
                False,
                raw,
                None,
                None,
                f"{m} = {raw!r} in {where} is not a finite number",
            )
        ]
    out = _bounds(gate, cand)
    if baseline is not None:
        out += _against_baseline(gate, cand, baseline, improved)
    return out


def _why(snapshot: Snapshot) -> str:
    # A file that could not be read at that revision says why (gitignored, DVC-cached and not pushed) and the fix.
    reasons = [f.why for f in snapshot.files if f.why]
    return f"; {'; '.join(reasons)}" if reasons else ""


def _did_you_mean(metric: str, snap: Snapshot) -> str:
    """`; did you mean 'accuracy'?` when a metric of the snapshot is close to the gate's (a typo), else ''."""
    path, sep, _ = metric.rpartition(":")
    names = [
        f"{f.path}:{k}" if sep else k
        for f in snap.files
        if f.values is not None and (not sep or f.path == path)
        for k in f.values
        if not k.startswith(SLICES)
    ]
    meant = yamlsource.closest(metric, names)
    return f"; did you mean '{meant}'? (the gates are named in {CONFIG_NAME} under policy.gates)" if meant else ""


def _bounds(gate: Gate, cand: float) -> list[RuleResult]:
    """The absolute rules (`min`, `max`): they hold whatever the baseline."""
    m, out = gate.metric, []
    if gate.min is not None:
        ok = cand >= gate.min - _eps(gate.min)
        msg = f"{_fmt(cand)} {'>=' if ok else '<'} min {_fmt(gate.min)}"
        out.append(RuleResult(Code.MODEL_METRIC_BELOW_MIN, m, "min", ok, cand, None, gate.min, msg))
    if gate.max is not None:
        ok = cand <= gate.max + _eps(gate.max)
        msg = f"{_fmt(cand)} {'<=' if ok else '>'} max {_fmt(gate.max)}"
        out.append(RuleResult(Code.MODEL_METRIC_ABOVE_MAX, m, "max", ok, cand, None, gate.max, msg))
    return out


def _against_baseline(gate: Gate, cand: float, baseline: Snapshot, improved: list[str]) -> list[RuleResult]:
    """The relative rules: allowed regression and required improvement against the baseline's value."""
    m = gate.metric
    braw, bwhere = baseline.lookup(m)
    if bwhere is None:
        # A gate's first appearance: refusing it would leave no way forward but a release without the gate.
        msg = f"{m} is missing from the baseline ({baseline.label}): a new gate, judged on its bounds alone"
        msg += _why(baseline)
        return [RuleResult(Code.MODEL_METRIC_MISSING_BASELINE, m, "new", True, cand, None, None, msg)]
    base = number(braw)
    if base is None:
        msg = f"{m} = {braw!r} in the baseline ({baseline.label}) is not a finite number"
        return [RuleResult(Code.MODEL_METRIC_NOT_NUMERIC, m, "regression", False, cand, braw, None, msg)]
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
    what = "no worse than" if not allowances else f"at most {_fmt(allowed)} worse than"
    msg = f"{_fmt(cand)} vs {_fmt(base)} ({cand - base:+.6g}); must be {what} the baseline ({gate.direction} is better)"
    out = [RuleResult(Code.MODEL_METRIC_REGRESSED, m, "regression", ok, cand, base, allowed, msg)]
    if gate.min_improvement is not None:
        gain = -worse
        ok = gain >= gate.min_improvement - _eps(base)
        msg = f"improved by {gain:+.6g}; required at least {_fmt(gate.min_improvement)}"
        out.append(
            RuleResult(Code.MODEL_METRIC_NOT_IMPROVED, m, "improvement", ok, cand, base, gate.min_improvement, msg)
        )
    return out


_COMPARED = frozenset({"regression", "improvement", "new"})


def also_against(decision: Decision, other: Decision, label: str) -> Decision:
    """`decision` with the rules that compared with a further base (`label`) added; its bounds are already in."""
    extra = tuple(
        replace(r, base=label, message=f"vs {label}: {r.message}") for r in other.results if r.rule in _COMPARED
    )
    return Decision(decision.results + extra, decision.first_release and other.first_release, decision.improved)


SLICES = "slices."


@dataclass(frozen=True)
class SliceResult:
    """One rule of one gate applied to one slice (`result` None: the slice is gone from the candidate)."""

    slice: str
    metric: str  # the gate's metric
    file: str
    result: RuleResult | None
    compared: bool  # False: a new slice, only the absolute bounds applied
    base: str | None = None  # set when the rule held against a further base (`policy.base` lists several)


def _slice_values(snap: Snapshot, path: str | None, key: str) -> dict[tuple[str, str], ParamValue]:
    found: dict[tuple[str, str], ParamValue] = {}
    suffix = "." + key
    for f in snap.files:
        if f.values is None or (path is not None and f.path != path):
            continue
        for k, v in f.values.items():
            if k.startswith(SLICES) and k.endswith(suffix) and len(k) > len(SLICES) + len(suffix):
                found[(f.path, k[len(SLICES) : -len(suffix)])] = v
    return found


def _one(snap: Snapshot, path: str, key: str, value: ParamValue) -> Snapshot:
    return Snapshot(snap.label, snap.rev, (ValueFile(path, {key: value}),))


def slice_results(
    gates: Sequence[Gate], candidate: Snapshot, baseline: Snapshot | None, further: str | None = None
) -> list[SliceResult]:
    """Each gate applied to `slices.<slice>.<metric>` of the metrics files.

    A slice on both sides gets the gate's bounds and regression rules (not `min_improvement`: requiring every
    slice to improve is not what a gate on the overall metric means); a slice new in the candidate gets the
    bounds only; a slice gone from the candidate is reported with `result` None. Against a `further` base (its
    label), only the comparisons are added: the bounds, new and gone slices are the primary base's to say.
    """
    out: list[SliceResult] = []
    for g in gates:
        path, sep, key = g.metric.rpartition(":")
        where = path if sep else None
        cand = _slice_values(candidate, where, key)
        base = _slice_values(baseline, where, key) if baseline is not None else {}
        # Each slice is evaluated on a one-value snapshot, so slice names may hold any character.
        sub = replace(g, metric=key, min_improvement=None)
        for (file, name), value in cand.items():
            base_snap = None
            if baseline is not None and (file, name) in base:
                base_snap = _one(baseline, file, key, base[(file, name)])
            if further is not None and base_snap is None:
                continue
            decision = evaluate((sub,), _one(candidate, file, key, value), base_snap)
            if further is not None:
                decision = also_against(Decision((), False, ()), decision, further)
            out.extend(SliceResult(name, g.metric, file, r, base_snap is not None, further) for r in decision.results)
        if further is None:
            out.extend(SliceResult(name, g.metric, file, None, True) for file, name in base.keys() - cand.keys())
    return out


def with_slices(decision: Decision, slices: Sequence[SliceResult]) -> Decision:
    """The decision with each slice's rules added, so a slice that fails the gate fails the promotion."""
    extra = tuple(
        replace(
            s.result, slice=s.slice, metric=f"{s.metric} [{s.slice}]", message=f"slice {s.slice}: {s.result.message}"
        )
        for s in slices
        if s.result is not None
    )
    return Decision(decision.results + extra, decision.first_release, decision.improved)
