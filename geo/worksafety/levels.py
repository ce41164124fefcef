"""The level of a reading against a point's graded thresholds and direction.

Dam points have four colours (蓝/黄/橙/红, GB 51108-2015); chemical installations and fireworks
warehouses have high / high-high (高报 / 高高报). A level is an integer rank: 0 normal, 1 the
lowest grade up to 4 (red) or 2 (high-high), so points of both schemes compare and vectorise.
``below`` points alarm when the value is *at or under* a threshold (浸润线埋深 shallower,
干滩长度 shorter, 安全超高 lower); ``above`` points when at or over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from riskmap.geo.errors import InvalidArgumentError

Direction = Literal["above", "below"]
COLOURS = ("blue", "yellow", "orange", "red")
HIGHS = ("high", "high_high")
SCHEMES = (COLOURS, HIGHS)


@dataclass(frozen=True)
class Thresholds:
    """A point's thresholds in rank order (lowest grade first) and its direction.

    ``levels`` is a prefix-free subset of one scheme in order (a point may lack the higher
    grades, e.g. blue and yellow only); ``values`` grow with rank for ``above`` points and
    shrink for ``below`` ones, so a more severe grade is always further from normal.
    """

    levels: tuple[str, ...]
    values: tuple[float, ...]
    direction: Direction

    def __post_init__(self) -> None:
        if self.direction not in ("above", "below"):
            raise InvalidArgumentError(f"direction {self.direction!r}: one of above, below")
        if not self.levels or len(self.levels) != len(self.values):
            raise InvalidArgumentError("thresholds: one value per level, at least one level")
        scheme = next((s for s in SCHEMES if self.levels[0] in s), None)
        if scheme is None or any(lv not in scheme for lv in self.levels):
            raise InvalidArgumentError(f"levels {self.levels}: all of {COLOURS} or all of {HIGHS}")
        ranks = [scheme.index(lv) for lv in self.levels]
        if ranks != sorted(ranks) or len(set(ranks)) != len(ranks):
            raise InvalidArgumentError(f"levels {self.levels} are not in rank order")
        v = np.asarray(self.values, dtype=float)
        steps = np.diff(v) if self.direction == "above" else -np.diff(v)
        if not np.all(np.isfinite(v)) or np.any(steps <= 0):
            raise InvalidArgumentError(
                f"threshold values {self.values} must be finite and move away from normal"
                f" ({'increasing' if self.direction == 'above' else 'decreasing'}) with the grade"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, float], direction: Direction) -> Thresholds:
        """From ``{level: value}`` as stored in ws_threshold (any order)."""
        scheme = COLOURS if any(lv in COLOURS for lv in values) else HIGHS
        unknown = sorted(set(values) - set(scheme))
        if unknown:
            raise InvalidArgumentError(f"levels {unknown}: all of {COLOURS} or all of {HIGHS}")
        levels = tuple(lv for lv in scheme if lv in values)
        return cls(levels, tuple(float(values[lv]) for lv in levels), direction)

    def name(self, rank: int) -> str | None:
        """The level name of a rank (1 = the lowest grade this point has); None for 0."""
        return None if rank <= 0 else self.levels[rank - 1]

    def value_of(self, rank: int) -> float:
        return self.values[rank - 1]


def level(values: ArrayLike, thresholds: Thresholds, band: float = 0.0) -> NDArray[np.int8]:
    """Rank of each value (0 normal … len(levels)), vectorised over any array shape.

    ``band`` moves every threshold towards normal by that amount: the level a value still
    *holds* under hysteresis (an alarm at rank k clears only when this drops below k).
    """
    v = np.asarray(values, dtype=float)
    th = np.asarray(thresholds.values, dtype=float)
    if thresholds.direction == "above":
        hit = v[..., None] >= th - band
    else:
        hit = v[..., None] <= th + band
    return hit.sum(axis=-1, dtype=np.int8)


def more_severe(a: float, b: float, direction: Direction) -> float:
    """The reading further from normal of two (the peak of an alarm)."""
    return max(a, b) if direction == "above" else min(a, b)
