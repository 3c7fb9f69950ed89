"""Window profiles on synthetic traffic: calibrated drift (shifts of known size), exact merges, stable files."""

from __future__ import annotations

import random

import pytest

from mlgit.checks import drift
from mlgit.config.settings import DriftSettings
from mlgit.data.profile import QUANTILE_POINTS, ColumnProfile, Profile
from mlgit.monitor import window as windows
from mlgit.monitor.window import NumericCounter, Window


def _training(values: list[float]) -> ColumnProfile:
    """A training profile column as `mlgit schema infer` writes it (linear-interpolated quantiles)."""
    v = sorted(values)
    n = len(v)
    qs = []
    for p in QUANTILE_POINTS:
        pos = p * (n - 1)
        lo = int(pos)
        hi = min(lo + 1, n - 1)
        qs.append(float(f"{v[lo] + (v[hi] - v[lo]) * (pos - lo):.6g}"))
    mean = sum(v) / n
    std = (sum((x - mean) ** 2 for x in v) / (n - 1)) ** 0.5
    return ColumnProfile(name="x", type="float", count=n, nulls=0, quantiles=tuple(qs), sample=n, std=std, mean=mean)


def _window(base: ColumnProfile, values: list[float]) -> windows.Binned:
    assert base.quantiles is not None
    counter = NumericCounter(tuple(sorted(set(base.quantiles))))
    for x in values:
        counter.add(x)
    return counter.result()


def _psi(base: ColumnProfile, binned: windows.Binned) -> drift.Measure:
    [m] = drift.measure(
        Profile("t", "", "csv", None, base.count, (base,)),
        Profile("w", "", "window", None, binned.count, (binned.profile("x"),)),
        DriftSettings(),
    )
    return m


@pytest.fixture(scope="module")
def base() -> ColumnProfile:
    rng = random.Random(7)
    return _training([rng.gauss(0, 1) for _ in range(5000)])


def test_no_shift_is_never_drift_and_stays_far_below_the_threshold(base: ColumnProfile) -> None:
    for seed in range(10):
        rng = random.Random(seed)
        m = _psi(base, _window(base, [rng.gauss(0, 1) for _ in range(2000)]))
        assert not m.drifted and m.value < m.threshold / 3, (seed, m)


@pytest.mark.parametrize(("shift", "scale"), [(0.5, 1.0), (-0.5, 1.0), (0.0, 1.6)])
def test_a_shift_of_half_a_standard_deviation_or_a_wider_spread_is_always_drift(
    base: ColumnProfile, shift: float, scale: float
) -> None:
    for seed in range(10):
        rng = random.Random(100 + seed)
        m = _psi(base, _window(base, [rng.gauss(shift, scale) for _ in range(2000)]))
        assert m.drifted, (seed, m)


def test_a_small_window_gets_a_threshold_raised_for_its_sampling_noise(base: ColumnProfile) -> None:
    rng = random.Random(3)
    small = _psi(base, _window(base, [rng.gauss(0, 1) for _ in range(40)]))
    large = _psi(base, _window(base, [rng.gauss(0, 1) for _ in range(4000)]))
    assert small.threshold > large.threshold == 0.1 and not small.drifted


def _w(values: list[float], base: ColumnProfile, start: str, end: str) -> Window:
    return Window(
        model="m",
        release="v1.0.0",
        commit="c" * 40,
        reference="schemas/train.profile.json",
        start=start,
        end=end,
        requests=len(values),
        rows=len(values),
        errors=0,
        latency=(0,) * (len(windows.LATENCY_EDGES) + 1),
        inputs=(("x", _window(base, values)),),
        predictions=(),
    )


def test_two_halves_merge_into_exactly_the_whole(base: ColumnProfile) -> None:
    rng = random.Random(11)
    values = [rng.gauss(0.2, 1.1) for _ in range(3000)] + [None] * 5  # type: ignore[list-item]  # nulls on purpose
    a = _w(values[:1700], base, "2026-12-01T00:00:00.000Z", "2026-12-01T01:00:00.000Z")
    b = _w(values[1700:], base, "2026-12-01T01:00:00.000Z", "2026-12-01T02:00:00.000Z")
    whole = _w(values, base, "2026-12-01T00:00:00.000Z", "2026-12-01T02:00:00.000Z")
    merged = windows.merge([a, b])
    assert merged.column("x") is not None and whole.column("x") is not None
    got, want = merged.column("x"), whole.column("x")
    assert got is not None and want is not None
    assert (got.counts, got.nulls, got.min, got.max) == (want.counts, want.nulls, want.min, want.max)
    assert got.count == 3000 and got.nulls == 5
    assert merged.name == whole.name == "20261201T000000Z--20261201T020000Z"


def test_the_file_round_trips_and_is_deterministic(base: ColumnProfile) -> None:
    rng = random.Random(5)
    w = _w([rng.gauss(0, 1) for _ in range(500)], base, "2026-12-01T00:00:00.000Z", "2026-12-01T01:00:00.000Z")
    text = windows.dumps(w)
    assert windows.loads(text, "w") == w and windows.dumps(windows.loads(text, "w")) == text
    with pytest.raises(windows.InputError, match="not a valid mlgit window profile"):
        windows.loads(text.replace('"counts": [', '"counts": [1, ', 1), "w.json")
