"""Findings about one window: drift (an error here, unlike PR checks), schema, volume, latency, errors, quality.

Drift is the data checks' engine (`checks/drift.py`): the same measures, the same thresholds raised for small
samples, applied to the window read back as a profile. Every measured value is an info finding.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from mlgit.checks import drift
from mlgit.config.settings import Config, DriftSettings, Model, Monitoring
from mlgit.data.profile import Profile
from mlgit.monitor import reference
from mlgit.monitor.logs import Skipped
from mlgit.monitor.reference import Reference
from mlgit.monitor.window import Window, latency_quantile
from mlgit.repo.state import RepoState
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity

_Z999 = 3.090232306167813
# A value past the range or outside the values the training data showed is news, not a broken contract:
# drift judges the distribution. Types, nulls, non-finite values and unknown columns break the schema.
_MILD = ("out-of-range", "unexpected-value")


def as_profile(w: Window, predictions: bool = False) -> Profile:
    """A window's columns as a data profile the drift engine reads."""
    cols = w.predictions if predictions else w.inputs
    return Profile(w.name, "", "window", None, w.rows, tuple(b.profile(n) for n, b in cols))


def _drift(
    subject: str, base: Profile, current: Profile, settings: DriftSettings, label: str, code: Code, what: str
) -> list[Finding]:
    out = []
    for m in drift.measure(base, current, settings):
        how = "p-value" if m.method == "chi2" else m.method
        data = {
            "kind": m.kind,
            "method": m.method,
            "value": m.value if math.isfinite(m.value) else None,
            "threshold": m.threshold,
            "drifted": m.drifted,
            "auto_threshold": m.auto,
            "base_n": m.base_n,
            "current_n": m.current_n,
            "base": label,
            "of": what,
        }
        auto = ", default for this sample size" if m.auto else ""
        out.append(
            Finding(
                code=Code.MONITOR_DRIFT,
                severity=Severity.INFO,
                subject=subject,
                column=m.column,
                message=f"{what} {m.column}: {how} {m.value:.3g} vs {label} (threshold {m.threshold:.3g}{auto})",
                data=data,
            )
        )
        if m.drifted:
            cmp = "<" if m.method == "chi2" else ">"
            out.append(
                Finding(
                    code=code,
                    severity=Severity.ERROR,
                    subject=subject,
                    column=m.column,
                    message=f"{what} {m.column} drifted from {label}: {how} {m.value:.3g} {cmp} {m.threshold:.3g}",
                    data=data,
                )
            )
    return out


def drift_findings(subject: str, w: Window, ref: Reference, prediction_base: Window | None) -> list[Finding]:
    """Input drift against the training profile (or --base WINDOW), prediction drift against a window."""
    settings = replace(ref.dataset.drift, severity=Severity.ERROR)
    if ref.base_window is not None:
        label = f"window {ref.base_window.name}"
        out = _drift(
            subject, as_profile(ref.base_window), as_profile(w), settings, label, Code.MONITOR_INPUT_DRIFT, "input"
        )
    else:
        label = f"{ref.release.tag} training data ({ref.profile_path})"
        out = _drift(subject, ref.profile, as_profile(w), settings, label, Code.MONITOR_INPUT_DRIFT, "input")
    base = ref.base_window or prediction_base
    if base is None or base.name == w.name:
        out.append(
            Finding(
                code=Code.MONITOR_NO_PREDICTION_REFERENCE,
                severity=Severity.INFO,
                subject=subject,
                message=f"this is the first window of {ref.release.tag}: it becomes the reference for prediction drift",
            )
        )
        return out
    pred = DriftSettings(numeric=settings.numeric, categorical=settings.categorical, severity=Severity.ERROR)
    label = f"window {base.name}"
    out += _drift(
        subject, as_profile(base, True), as_profile(w, True), pred, label, Code.MONITOR_PREDICTION_DRIFT, "prediction"
    )
    return out


def schema_findings(subject: str, w: Window, ref: Reference) -> list[Finding]:
    """Each kind of violation per column, with its rows and share of the window."""
    out = []
    for column, kinds in w.violations:
        for kind, n in kinds:
            share = n / w.rows if w.rows else 0.0
            out.append(
                Finding(
                    code=Code.MONITOR_SCHEMA_VIOLATION,
                    severity=Severity.WARNING if kind in _MILD else Severity.ERROR,
                    subject=subject,
                    column=column,
                    file=ref.dataset.schema_path,
                    message=f"{column}: {n} {kind} ({share:.2%} of {w.rows} rows) against {ref.dataset.schema_path} "
                    f"at {ref.release.tag}",
                    data={"kind": kind, "rows": n, "fraction": share},
                )
            )
    return out


def _hours(w: Window) -> float | None:
    try:
        a = datetime.fromisoformat(w.start.replace("Z", "+00:00"))
        b = datetime.fromisoformat(w.end.replace("Z", "+00:00"))
    except ValueError:
        return None
    hours = (b - a).total_seconds() / 3600
    return hours if hours > 0 else None


def volume_findings(subject: str, w: Window, earlier: Sequence[Window], cfg: Monitoring) -> list[Finding]:
    """Requests per hour against the median of the earlier windows (3 or more needed to judge)."""
    if w.rows < cfg.min_rows:
        return [
            Finding(
                code=Code.MONITOR_NO_TRAFFIC,
                severity=Severity.ERROR,
                subject=subject,
                message=f"{w.rows} rows in the window (monitor.min_rows: {cfg.min_rows}): is the model being served, "
                "and are these its logs?",
                data={"rows": w.rows, "requests": w.requests},
            )
        ]
    hours = _hours(w)
    rate = w.requests / hours if hours else None
    spans = [(e.requests, _hours(e)) for e in earlier if e.name != w.name]
    rates = [n / h for n, h in spans if h and n > 0]
    median = statistics.median(rates) if len(rates) >= 3 else None
    data = {"requests": w.requests, "rows": w.rows, "per_hour": rate, "median_per_hour": median, "earlier": len(rates)}
    said = f", median of {len(rates)} earlier windows {median:.3g}/h" if median else ""
    per = f" ({rate:.3g} requests/h{said})" if rate is not None else ""
    out = [
        Finding(
            code=Code.MONITOR_VOLUME,
            severity=Severity.INFO,
            subject=subject,
            message=f"{w.requests} requests, {w.rows} rows{per}",
            data=data,
        )
    ]
    f = cfg.volume_factor
    if rate is not None and median and (rate > median * f or rate < median / f):
        out.append(
            Finding(
                code=Code.MONITOR_VOLUME_ANOMALY,
                severity=Severity.ERROR,
                subject=subject,
                message=f"{rate:.3g} requests/h against a median of {median:.3g}/h over {len(rates)} earlier windows "
                f"(monitor.volume_factor {f:g})",
                data=data,
            )
        )
    return out


def serving_findings(subject: str, w: Window, cfg: Monitoring) -> list[Finding]:
    """Latency quantiles and the error rate, against the declared budgets."""
    out: list[Finding] = []
    q = {p: latency_quantile(w.latency, p / 100) for p in (50, 95, 99)}
    if q[50] is not None:
        out.append(
            Finding(
                code=Code.MONITOR_LATENCY,
                severity=Severity.INFO,
                subject=subject,
                message=f"latency p50 <= {q[50]:.3g} ms, p95 <= {q[95]:.3g} ms, p99 <= {q[99]:.3g} ms "
                f"({sum(w.latency)} requests)",
                data={"p50_ms": q[50], "p95_ms": q[95], "p99_ms": q[99]},
            )
        )
        for p, budget in ((95, cfg.p95_ms), (99, cfg.p99_ms)):
            value = q[p]
            if budget is not None and value is not None and value > budget:
                # The bucket's upper edge overstates; its lower edge (the previous one) must be over budget too.
                out.append(
                    Finding(
                        code=Code.MONITOR_LATENCY_OVER_BUDGET,
                        severity=Severity.ERROR,
                        subject=subject,
                        message=f"p{p} latency up to {value:.3g} ms, over monitor.p{p}_ms {budget:g}",
                        data={f"p{p}_ms": value, "budget_ms": budget},
                    )
                )
    if w.requests:
        rate = w.errors / w.requests
        out.append(
            Finding(
                code=Code.MONITOR_ERROR_RATE,
                severity=Severity.INFO,
                subject=subject,
                message=f"{w.errors} of {w.requests} requests failed ({rate:.2%})",
                data={"errors": w.errors, "requests": w.requests, "rate": rate},
            )
        )
        if rate > cfg.max_error_rate:
            out.append(
                Finding(
                    code=Code.MONITOR_ERROR_RATE_HIGH,
                    severity=Severity.ERROR,
                    subject=subject,
                    message=f"error rate {rate:.2%} over monitor.max_error_rate {cfg.max_error_rate:.2%}",
                    data={"errors": w.errors, "requests": w.requests, "rate": rate},
                )
            )
    return out


def skipped_findings(subject: str, skipped: Skipped, outside: int, other: Mapping[str, int]) -> list[Finding]:
    """Malformed lines (a warning with the first few) and requests left out of the window."""
    out = []
    if skipped.count:
        listed = "\n".join(f"  {s}" for s in skipped.samples)
        out.append(
            Finding(
                code=Code.MONITOR_MALFORMED,
                severity=Severity.WARNING,
                subject=subject,
                message=f"{skipped.count} log lines are not requests and were skipped; the first:\n{listed}",
                data={"count": skipped.count, "samples": list(skipped.samples)},
            )
        )
    if outside or other:
        parts = [f"{outside} outside the window"] if outside else []
        parts += [f"{n} served by {v}" for v, n in sorted(other.items())]
        out.append(
            Finding(
                code=Code.MONITOR_SKIPPED,
                severity=Severity.INFO,
                subject=subject,
                message="requests not counted: " + ", ".join(parts),
                data={"outside": outside, "other_versions": dict(other)},
            )
        )
    return out


def quality_findings(
    subject: str, model: Model, ref: Reference, predicted: Mapping[str, object], labels: Mapping[str, object]
) -> list[Finding]:
    """Accuracy on the requests the labels join, against the release's own metric of that name."""
    joined = [(predicted[k], v) for k, v in labels.items() if k in predicted]
    out = []
    unmatched = len(labels) - len(joined)
    if unmatched:
        out.append(
            Finding(
                code=Code.MONITOR_LABELS_UNMATCHED,
                severity=Severity.WARNING,
                subject=subject,
                message=f"{unmatched} of {len(labels)} labels name no one-row request of this window",
                data={"unmatched": unmatched, "labels": len(labels)},
            )
        )
    if not joined:
        return out
    correct = sum(1 for p, y in joined if _same(p, y))
    n = len(joined)
    acc = correct / n
    released = _released(ref, "accuracy")
    data = {"metric": "accuracy", "value": acc, "labelled": n, "released": released}
    out.append(
        Finding(
            code=Code.MONITOR_QUALITY,
            severity=Severity.INFO,
            subject=subject,
            message=f"accuracy {acc:.4g} on {n} labelled requests"
            + (f" (release {ref.release.tag}: {released:.4g})" if released is not None else ""),
            data=data,
        )
    )
    gate = next((g for g in model.policy.gates if g.metric.rsplit(":", 1)[-1] == "accuracy"), None)
    if released is None:
        return out
    allowed = 0.0
    if gate is not None:
        allowed = max(gate.max_regression or 0.0, (gate.max_regression_rel or 0.0) * abs(released))
    noise = _Z999 * math.sqrt(max(released * (1 - released), 1e-12) / n)
    if acc < released - allowed - noise:
        out.append(
            Finding(
                code=Code.MONITOR_QUALITY_DEGRADED,
                severity=Severity.ERROR,
                subject=subject,
                message=f"accuracy {acc:.4g} on {n} labelled requests is below the release's {released:.4g} by more "
                f"than the gate allows ({allowed:.3g}) plus sampling noise ({noise:.3g})",
                data={**data, "allowed": allowed, "noise": noise},
            )
        )
    return out


def _same(p: object, y: object) -> bool:
    if isinstance(p, int | float) and isinstance(y, int | float) and not isinstance(p, bool):
        return float(p) == float(y)
    return str(p) == str(y)


def _released(ref: Reference, metric: str) -> float | None:
    lineage = ref.release.lineage or {}
    metrics = lineage.get("metrics") or {}
    for key, value in metrics.items():
        if str(key).rsplit(":", 1)[-1] == metric and isinstance(value, int | float):
            return float(value)
    return None


def latest_verdict(repo: RepoState, cfg: Config, model: Model, store: str) -> tuple[bool, list[str]]:
    """Whether the latest stored window of the last release drifted, and the lines that say so."""
    ref = reference.resolve(repo, cfg, model, "last-release", store)
    stored = reference.stored(repo.root, store, model.name, ref.version)
    if not stored:
        return False, [f"no stored window of {ref.release.tag} under {store}/: run 'mlgit monitor' first"]
    latest = stored[-1][1]
    first = stored[0][1]
    found = drift_findings(model.name, latest, ref, first)
    drifted = [f for f in found if f.code in (Code.MONITOR_INPUT_DRIFT, Code.MONITOR_PREDICTION_DRIFT)]
    if not drifted:
        return False, [f"the latest window {latest.name} of {ref.release.tag} shows no drift"]
    return True, [f"window {latest.name}: {f.message}" for f in drifted]
