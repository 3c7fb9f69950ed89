"""Drift between two data profiles: numeric columns by PSI, Jensen-Shannon or normalized Wasserstein over their
quantile sketches; categorical columns by L-infinity, Jensen-Shannon or a chi-squared test over value counts.

Default thresholds are the usual ones (PSI 0.1, Jensen-Shannon 0.1, Wasserstein 0.1 of the base std,
L-infinity 0.1, chi-squared p < 0.001), raised where the sample is so small that sampling noise alone would
exceed them: at 99.9 % of the no-drift distribution, so a column with few rows does not cry wolf.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlgit.checks.judge import promote
from mlgit.config.settings import Dataset, DriftSettings
from mlgit.data import profile as profiles
from mlgit.data import schema as schemas
from mlgit.data.profile import QUANTILE_POINTS, ColumnKind, ColumnProfile, Profile
from mlgit.errors import MlgitError
from mlgit.registry import baseline
from mlgit.repo.state import RepoState
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity
from mlgit.system import files, statedir

NUMERIC_METHODS = ("psi", "jensen_shannon", "wasserstein")
CATEGORICAL_METHODS = ("linf", "jensen_shannon", "chi2")
_BASE_THRESHOLD = {"psi": 0.1, "jensen_shannon": 0.1, "wasserstein": 0.1, "linf": 0.1, "chi2": 0.001}
_Z999 = 3.090232306167813  # the standard normal's 99.9 % quantile
_EPS = 1e-4
_DECILES = tuple(QUANTILE_POINTS.index(p) for p in QUANTILE_POINTS if round(p * 10, 9) == int(round(p * 10, 9)))


@dataclass(frozen=True)
class Measure:
    """One column's drift: the value is always reported, `drifted` says whether it crossed the threshold."""

    column: str
    kind: ColumnKind
    method: str
    value: float
    threshold: float
    auto: bool  # the threshold is the default (possibly raised for a small sample), not configured
    base_n: int
    current_n: int

    @property
    def drifted(self) -> bool:
        """Whether the value is past the threshold (for chi2, a p-value below it)."""
        if self.method == "chi2":
            return self.value < self.threshold
        return self.value > self.threshold


# -- small statistics without numpy/scipy --------------------------------------------------------------------


def chi2_quantile(p_z: float, dof: int) -> float:
    """The chi-squared quantile at standard-normal z (Wilson-Hilferty)."""
    k = max(1, dof)
    return float(k * (1 - 2 / (9 * k) + p_z * math.sqrt(2 / (9 * k))) ** 3)


def chi2_sf(x: float, dof: int) -> float:
    """P(X > x) for a chi-squared variable (Wilson-Hilferty)."""
    k = max(1, dof)
    if x <= 0:
        return 1.0
    z = ((x / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    return 0.5 * math.erfc(z / math.sqrt(2))


def cdf(quantiles: Sequence[float], x: float) -> float:
    """The distribution function at x, interpolated from a quantile sketch."""
    q = quantiles
    if x < q[0]:
        return 0.0
    if x >= q[-1]:
        return 1.0
    j = bisect.bisect_right(q, x) - 1
    p = QUANTILE_POINTS
    if q[j + 1] > q[j]:
        return p[j] + (x - q[j]) / (q[j + 1] - q[j]) * (p[j + 1] - p[j])
    return p[j]


def _masses(quantiles: Sequence[float], edges: Sequence[float]) -> list[float]:
    cum = [0.0, *(cdf(quantiles, e) for e in edges), 1.0]
    return [max(b - a, 0.0) for a, b in itertools.pairwise(cum)]


def _smooth(masses: Sequence[float]) -> list[float]:
    masses = [max(m, _EPS) for m in masses]
    total = sum(masses)
    return [m / total for m in masses]


def psi(base: Sequence[float], current: Sequence[float]) -> float:
    """Population stability index over matching bins."""
    b, c = _smooth(base), _smooth(current)
    return sum((ci - bi) * math.log(ci / bi) for bi, ci in zip(b, c, strict=True))


def jensen_shannon(base: Sequence[float], current: Sequence[float]) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) over matching bins."""
    b, c = _smooth(base), _smooth(current)
    m = [(x + y) / 2 for x, y in zip(b, c, strict=True)]
    div = 0.5 * sum(x * math.log2(x / z) for x, z in zip(b, m, strict=True))
    div += 0.5 * sum(y * math.log2(y / z) for y, z in zip(c, m, strict=True))
    return math.sqrt(max(div, 0.0))


def wasserstein(base: ColumnProfile, current: ColumnProfile) -> float:
    """Wasserstein-1 distance between the quantile functions, in units of the base's standard deviation."""
    assert base.quantiles is not None and current.quantiles is not None
    diffs = [abs(a - b) for a, b in zip(base.quantiles, current.quantiles, strict=True)]
    area = sum(
        (diffs[i] + diffs[i + 1]) / 2 * (QUANTILE_POINTS[i + 1] - QUANTILE_POINTS[i]) for i in range(len(diffs) - 1)
    )
    scale = base.std or (base.quantiles[-1] - base.quantiles[0])
    if not scale:
        return 0.0 if area == 0 else math.inf
    return area / scale


# -- per column --------------------------------------------------------------------------------------------


def _numeric(b: ColumnProfile, c: ColumnProfile, method: str, configured: float | None) -> Measure | None:
    if b.quantiles is None or c.quantiles is None:
        return None
    nb, nc = max(1, b.sample), max(1, c.sample)
    edges = sorted({b.quantiles[i] for i in _DECILES[1:-1]})
    bins = len(edges) + 1
    noise = 1 / nb + 1 / nc
    if method == "wasserstein":
        value = wasserstein(b, c)
        floor = 3.5 * math.sqrt(noise)
    else:
        bm, cm = _masses(b.quantiles, edges), _masses(c.quantiles, edges)
        if method == "psi":
            value, floor = psi(bm, cm), chi2_quantile(_Z999, bins - 1) * noise
        else:
            value, floor = jensen_shannon(bm, cm), math.sqrt(chi2_quantile(_Z999, bins - 1) * noise / (8 * math.log(2)))
    threshold = configured if configured is not None else max(_BASE_THRESHOLD[method], floor)
    return Measure(b.name, ColumnKind.NUMERIC, method, value, threshold, configured is None, nb, nc)


def _categorical(b: ColumnProfile, c: ColumnProfile, method: str, configured: float | None) -> Measure | None:
    if b.counts is None or c.counts is None:
        return None
    keys = list(dict.fromkeys([*(k for k, _ in b.counts), *(k for k, _ in c.counts)]))
    bc, cc = dict(b.counts), dict(c.counts)
    bv = [float(bc.get(k, 0)) for k in keys] + [float(b.other)]
    cv = [float(cc.get(k, 0)) for k in keys] + [float(c.other)]
    nb, nc = sum(bv), sum(cv)
    if nb == 0 or nc == 0:
        return None
    bf, cf = [x / nb for x in bv], [x / nc for x in cv]
    noise = 1 / nb + 1 / nc
    categories = sum(1 for x, y in zip(bv, cv, strict=True) if x + y > 0)
    if method == "linf":
        value = max(abs(x - y) for x, y in zip(bf, cf, strict=True))
        floor = _Z999 * 0.5 * math.sqrt(noise)
    elif method == "jensen_shannon":
        value = jensen_shannon(bf, cf)
        floor = math.sqrt(chi2_quantile(_Z999, max(1, categories - 1)) * noise / (8 * math.log(2)))
    else:
        stat = 0.0
        total = nb + nc
        for x, y in zip(bv, cv, strict=True):
            col = x + y
            if col == 0:
                continue
            for obs, n in ((x, nb), (y, nc)):
                exp = n * col / total
                stat += (obs - exp) ** 2 / exp
        value, floor = chi2_sf(stat, max(1, categories - 1)), _BASE_THRESHOLD["chi2"]
    if method == "chi2":
        threshold = configured if configured is not None else floor
    else:
        threshold = configured if configured is not None else max(_BASE_THRESHOLD[method], floor)
    return Measure(b.name, ColumnKind.CATEGORICAL, method, value, threshold, configured is None, int(nb), int(nc))


def measure(base: Profile, current: Profile, settings: DriftSettings) -> list[Measure]:
    """Drift of every column both profiles describe comparably (same kind of statistics)."""
    per_column = dict(settings.columns)
    out = []
    for c in current.columns:
        b = base.column(c.name)
        if b is None or (c.name in per_column and per_column[c.name] is None):
            continue
        configured = per_column.get(c.name)
        if c.counts is not None and b.counts is not None:
            m = _categorical(b, c, settings.categorical, configured or settings.categorical_threshold)
        elif c.quantiles is not None and b.quantiles is not None:
            m = _numeric(b, c, settings.numeric, configured or settings.numeric_threshold)
        else:
            m = None
        if m is not None:
            out.append(m)
    return out


def findings(
    dataset: str,
    measures: Sequence[Measure],
    settings: DriftSettings,
    base_label: str,
    file: str | None,
    lines: Mapping[str, int],
) -> list[Finding]:
    """Every measured value as an info finding; drifted columns and a drifted dataset as warnings (or errors)."""
    out: list[Finding] = []
    for m in measures:
        out += _column_findings(dataset, m, settings, base_label, file, lines.get(m.column))
    drifted = sum(1 for m in measures if m.drifted)
    fraction = drifted / len(measures) if measures else 0.0
    if measures and fraction >= settings.max_drifted_fraction:
        out.append(
            Finding(
                code=Code.DATA_DATASET_DRIFT,
                severity=settings.severity,
                subject=dataset,
                message=f"{drifted} of {len(measures)} columns drifted from {base_label} "
                f"({fraction:.0%} >= max_drifted_fraction {settings.max_drifted_fraction:.0%})",
                file=file,
                line=None,
                column=None,
                data={"drifted": drifted, "measured": len(measures), "fraction": fraction, "base": base_label},
            )
        )
    return out


def _column_findings(
    dataset: str, m: Measure, settings: DriftSettings, base_label: str, file: str | None, line: int | None
) -> list[Finding]:
    how = "p-value" if m.method == "chi2" else m.method
    cmp = "<" if m.method == "chi2" else ">"  # a p-value drifts when small, a distance when large
    auto = ", default for this sample size" if m.auto else ""
    data = {
        "kind": m.kind,
        "method": m.method,
        "value": _finite(m.value),
        "threshold": m.threshold,
        "drifted": m.drifted,
        "auto_threshold": m.auto,
        "base_n": m.base_n,
        "current_n": m.current_n,
        "base": base_label,
    }
    measured = Finding(
        code=Code.DATA_DRIFT,
        severity=Severity.INFO,
        subject=dataset,
        message=f"{m.column}: {how} {m.value:.3g} vs {base_label} (threshold {m.threshold:.3g}{auto})",
        file=file,
        line=line,
        column=m.column,
        data=data,
    )
    if not m.drifted:
        return [measured]
    detected = Finding(
        code=Code.DATA_DRIFT_DETECTED,
        severity=settings.severity,
        subject=dataset,
        message=f"{m.column} drifted from {base_label}: {how} {m.value:.3g} {cmp} {m.threshold:.3g}",
        file=file,
        line=line,
        column=m.column,
        data=data,
    )
    return [measured, detected]


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


# -- against the base revision ---------------------------------------------------------------------------------


def against_base(
    repo: RepoState, datasets: Sequence[Dataset], current: Mapping[str, Profile | None], base: baseline.Baseline
) -> list[Finding]:
    """Drift of each dataset's `current` profile from the one committed at `base` (read through git)."""
    assert base.commit is not None
    root = repo.root
    wanted = {ds.name: schemas.profile_path(ds.schema_path) for ds in datasets}
    blobs = repo.blobs(base.commit, wanted.values())
    out: list[Finding] = []
    for ds in datasets:
        now = current.get(ds.name)
        if not ds.drift.enabled or now is None:
            continue
        old, found = _base_profile(repo, ds, wanted[ds.name], blobs.get(wanted[ds.name]), base)
        out += found
        if old is not None:
            measures = measure(old, now, ds.drift)
            out += promote(findings(ds.name, measures, ds.drift, base.label, ds.schema_path, _lines(root, ds)), ds)
    return out


def _base_profile(
    repo: RepoState, ds: Dataset, rel: str, raw: bytes | None, base: baseline.Baseline
) -> tuple[Profile | None, list[Finding]]:
    def note(severity: Severity, message: str) -> list[Finding]:
        return [
            Finding(code=Code.DATA_DRIFT_NO_BASELINE, severity=severity, subject=ds.name, message=message, file=rel)
        ]

    if raw is None:
        return None, note(Severity.INFO, f"no profile {rel} committed at {base.label}: drift not measured")
    try:
        old = profiles.loads(raw, f"{rel} at {base.label}")
    except MlgitError as exc:
        return None, note(Severity.WARNING, f"{exc.message}: drift not measured")
    # Only a profile that records its data's md5 can be told stale (the base's DVC files are read only then).
    actual_md5 = repo.dvc_hashes(base.commit).get(ds.path) if old.md5 is not None and base.commit else None
    if old.md5 is None or actual_md5 is None or actual_md5 == old.md5:
        return old, []
    stale = Finding(
        code=Code.DATA_BASE_PROFILE_STALE,
        severity=Severity.WARNING,
        subject=ds.name,
        message=f"the profile committed at {base.label} describes other data than that revision's "
        f"{ds.path} (md5 {old.md5[:8]}, data {actual_md5[:8]}): drift is measured against older statistics",
        file=rel,
    )
    return old, [stale]


def _lines(root: Path, ds: Dataset) -> dict[str, int]:
    """The line of each column in the work tree's schema file (drift findings point there)."""
    try:
        raw = files.read_small(root, ds.schema_path, limit=files.MAX_SCHEMA_BYTES)
    except OSError:
        return {}
    return {
        k.split(".", 1)[1]: v
        for k, v in schemas.line_map(raw, statedir.path(root)).items()
        if k.count(".") == 1 and k.startswith("columns.")
    }
