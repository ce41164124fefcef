"""Levels of readings against graded thresholds: values worked out by hand from the table."""

from __future__ import annotations

import numpy as np
import pytest

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.worksafety.levels import Thresholds, level

# 浸润线埋深 (phreatic depth): alarm when shallower —
# blue ≤ 6.0, yellow ≤ 5.5, orange ≤ 4.4, red ≤ 4.0
DEPTH = Thresholds.from_mapping({"red": 4.0, "blue": 6.0, "orange": 4.4, "yellow": 5.5}, "below")
# combustible gas % LEL: high ≥ 20, high-high ≥ 40
GAS = Thresholds.from_mapping({"high": 20.0, "high_high": 40.0}, "above")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7.0, 0), (6.01, 0), (6.0, 1), (5.6, 1), (5.5, 2), (4.41, 2), (4.4, 3), (4.1, 3), (4.0, 4),
     (-1.0, 4), (float("nan"), 0)],
)  # fmt: skip
def test_below_levels_at_and_past_each_threshold(value: float, expected: int) -> None:
    assert int(level(value, DEPTH)) == expected


def test_above_levels_vectorise_over_any_shape() -> None:
    values = np.array([[0.0, 19.9, 20.0], [39.9, 40.0, 100.0]])
    assert level(values, GAS).tolist() == [[0, 0, 1], [1, 2, 2]]


def test_dead_band_moves_thresholds_towards_normal() -> None:
    # with a 2 % LEL band an alarm at high holds down to 18, at high-high down to 38
    assert level([18.0, 17.9, 38.0, 37.9], GAS, band=2.0).tolist() == [1, 0, 2, 1]
    # below: a 0.1 m band holds blue up to 6.1 m of depth
    assert level([6.1, 6.11], DEPTH, band=0.1).tolist() == [1, 0]


def test_names_and_values_of_ranks() -> None:
    assert DEPTH.levels == ("blue", "yellow", "orange", "red")
    assert (DEPTH.name(3), DEPTH.value_of(3), DEPTH.name(0)) == ("orange", 4.4, None)


@pytest.mark.parametrize(
    ("values", "direction", "words"),
    [
        ({"blue": 6.0, "yellow": 6.5}, "below", "decreasing"),  # yellow must be shallower
        ({"high": 40.0, "high_high": 20.0}, "above", "increasing"),
        ({"blue": 1.0, "high": 2.0}, "above", "all of"),  # two schemes mixed
    ],
)
def test_thresholds_out_of_order_are_refused(values: dict, direction: str, words: str) -> None:
    with pytest.raises(InvalidArgumentError, match=words):
        Thresholds.from_mapping(values, direction)
