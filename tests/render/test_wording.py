"""Shared wording of the renderers: the charts' y-range."""

from __future__ import annotations

import pytest

from mlgit.render.wording import chart_range


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.97, 0.99], (0.967, 0.993)),  # a margin of 15 % of the span
        ([0.2, 1.0], (0.08, 1.0)),  # an accuracy's axis stops at 1
        ([0.0, 0.5], (0.0, 0.575)),  # and never goes below 0
        ([-3.0, -1.0], (-3.3, -0.7)),
        ([-1.0, -0.1], (-1.135, 0.0)),  # a negative metric's axis stops at 0
        ([1.0, 1.0], (0.95, 1.0)),  # one value on a bound: the margin on the open side
        ([0.0, 0.0], (0.0, 0.05)),
        ([250.0, 250.0], (237.5, 262.5)),
        ([-5.0, 12.0], (-7.55, 14.55)),
    ],
)
def test_chart_range_is_sane(values: list[float], expected: tuple[float, float]) -> None:
    low, high = chart_range(values)
    assert (low, high) == pytest.approx(expected)
    assert low < high and low <= min(values) and high >= max(values)
