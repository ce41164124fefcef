"""The alarm engine's settings per monitoring item, with per-point overrides, and the points.

The site configuration (another module loads it into ``ws_site.config``) names these
parameters; the engine takes them as plain dataclasses so it needs neither YAML nor the
database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.worksafety.levels import Thresholds


@dataclass(frozen=True)
class AlarmParams:
    """How one point's alarms open, clear and fault.

    min_duration_s: the condition must hold this long before an alarm opens (and a higher level
    this long before the alarm escalates). dead_band: in the point's unit; an alarm at level k
    clears (or drops a level) only once the value is this far back past the threshold.
    hold_s: a re-opening within this time of clearing continues the same alarm. stuck_n: this
    many identical readings in a row make a stuck-sensor fault (None: never, e.g. rainfall,
    which is 0 for days). silent_s: no reading for this long is a silent-device fault (None:
    never). flap_window_s / flap_count: that many entries into alarm condition within the window
    mark the point as flapping (频繁波动).
    """

    min_duration_s: float = 900.0
    dead_band: float = 0.0
    hold_s: float = 3600.0
    stuck_n: int | None = 24
    silent_s: float | None = 3600.0
    flap_window_s: float = 6 * 3600.0
    flap_count: int = 5

    def __post_init__(self) -> None:
        for name in ("min_duration_s", "dead_band", "hold_s", "flap_window_s"):
            if not getattr(self, name) >= 0:
                raise InvalidArgumentError(f"{name} must be ≥ 0, got {getattr(self, name)!r}")
        if self.stuck_n is not None and self.stuck_n < 2:
            raise InvalidArgumentError(f"stuck_n must be ≥ 2 or None, got {self.stuck_n!r}")
        if self.silent_s is not None and not self.silent_s > 0:
            raise InvalidArgumentError(f"silent_s must be > 0 or None, got {self.silent_s!r}")
        if self.flap_count < 2:
            raise InvalidArgumentError(f"flap_count must be ≥ 2, got {self.flap_count!r}")

    def with_overrides(self, overrides: Mapping[str, Any]) -> AlarmParams:
        """These parameters with some replaced (a point's overrides of its item's)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise InvalidArgumentError(
                f"unknown alarm parameters {unknown}; known: {sorted(known)}"
            )
        return replace(self, **overrides)


# Defaults per item, for points whose site configuration says nothing. Rainfall stays at 0 for
# days (never "stuck"); gas detectors react fast (a leak is minutes), dam items slowly.
DEFAULT_ITEM_PARAMS: dict[str, AlarmParams] = {
    "rainfall": AlarmParams(min_duration_s=0.0, hold_s=3 * 3600.0, stuck_n=None),
    # the stock changes with deliveries and stays put for days: never "stuck"
    "stored_quantity": AlarmParams(stuck_n=None),
    "combustible_gas": AlarmParams(min_duration_s=300.0, hold_s=1800.0, stuck_n=48),
    "toxic_gas": AlarmParams(min_duration_s=300.0, hold_s=1800.0, stuck_n=48),
}


@dataclass(frozen=True)
class ParamBook:
    """Parameters per item with per-point overrides: ``for_point(item, point_id)``."""

    default: AlarmParams = field(default_factory=AlarmParams)
    by_item: Mapping[str, AlarmParams] = field(default_factory=lambda: dict(DEFAULT_ITEM_PARAMS))
    by_point: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def for_point(self, item: str, point_id: str) -> AlarmParams:
        base = self.by_item.get(item, self.default)
        overrides = self.by_point.get(point_id)
        return base.with_overrides(overrides) if overrides else base


@dataclass(frozen=True)
class PointSpec:
    """What the engine knows of a monitoring point (a ws_point row with its thresholds)."""

    id: str
    site_id: str
    item: str
    name: str  # zh, e.g. 浸润线埋深 P2
    unit: str
    thresholds: Thresholds
    params: AlarmParams = field(default_factory=AlarmParams)
    phys_min: float | None = None
    phys_max: float | None = None
    max_jump: float | None = None
    site_name: str = ""
    quantity: str = "amount"


@dataclass(frozen=True)
class MaintenanceWindow:
    """A site's or one point's maintenance window (检修/标定): its alarms are suppressed."""

    start: float  # epoch seconds
    end: float
    site_id: str | None = None
    point_id: str | None = None

    def __post_init__(self) -> None:
        if (self.site_id is None) == (self.point_id is None):
            raise InvalidArgumentError("a maintenance window names a site or a point, one of them")
        if not self.end > self.start:
            raise InvalidArgumentError("a maintenance window must end after it starts")

    def covers(self, point: PointSpec, t: float) -> bool:
        mine = self.point_id == point.id if self.point_id else self.site_id == point.site_id
        return mine and self.start <= t < self.end
