"""A work-safety site's configuration file (one YAML file per site), validated with pydantic.

The thresholds of a point come from the site's design (设计单位给出各级预警值), so they live in
a file the bureau keeps per site, not in code. The file names the site (an existing
``hazardous_site``), who supervises it, its alarm parameters per item and, per item, its points
with their graded thresholds. Errors name the file, the point and the field.

Example::

    site: HS431226-06
    supervising_section: 矿山股
    maintenance_contact: P431226-000123     # optional, a person id
    auto_issue: false
    items:
      phreatic_depth:                       # 浸润线埋深, alarm when shallower
        alarm: {min_duration_s: 1800, dead_band: 0.1}
        points:
          - id: HS431226-06-JR1
            name: 浸润线 JR1（1-1断面坝顶）
            unit: m
            direction: below
            thresholds: {blue: 5.0, yellow: 4.7, orange: 4.4, red: 4.0}
            phys_min: 0
            phys_max: 35
            max_jump: 0.5
            mn: "43122600000601"
            factor: w01010
            lon: 109.80
            lat: 27.87
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from riskmap.geo.errors import DataError

Item = Literal[
    "surface_displacement",
    "internal_displacement",
    "phreatic_depth",
    "dry_beach_length",
    "freeboard",
    "pond_level",
    "rainfall",
    "reservoir_landslide",
    "tank_level",
    "temperature",
    "pressure",
    "combustible_gas",
    "toxic_gas",
    "humidity",
    "stored_quantity",
]
Level = Literal["blue", "yellow", "orange", "red", "high", "high_high"]
COLOUR_LEVELS = ("blue", "yellow", "orange", "red")
ALARM_LEVELS = ("high", "high_high")
# which items and which threshold scheme each kind of site may use
DAM_ITEMS = (
    "surface_displacement",
    "internal_displacement",
    "phreatic_depth",
    "dry_beach_length",
    "freeboard",
    "pond_level",
    "rainfall",
    "reservoir_landslide",
)
KIND_ITEMS: dict[str, tuple[str, ...]] = {
    "tailings_dam": DAM_ITEMS,
    "chemical_plant": ("tank_level", "temperature", "pressure", "combustible_gas", "toxic_gas"),
    "fireworks_warehouse": ("temperature", "humidity", "stored_quantity"),
    "fireworks_shop": ("temperature", "humidity", "stored_quantity"),
}
KIND_LEVELS: dict[str, tuple[str, ...]] = {
    "tailings_dam": COLOUR_LEVELS,
    "chemical_plant": ALARM_LEVELS,
    "fireworks_warehouse": COLOUR_LEVELS,
    "fireworks_shop": COLOUR_LEVELS,
}

NonNeg = Annotated[float, Field(ge=0)]


class AlarmParams(BaseModel):
    """Alarm-flood settings read by the alarm engine; any field may be left out to inherit.

    min_duration_s: the condition must hold this long before an alarm opens;
    dead_band: the value must fall back past the threshold by this much (point's unit) to clear;
    hold_s: re-opening within this time continues the same alarm;
    stuck_n: this many identical readings in a row make a stuck-sensor fault; 0 turns the check
        off (a rain gauge or a gas detector rightly reads 0 for days);
    silent_s: no reading for this long makes a silent-device fault.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_duration_s: NonNeg | None = None
    dead_band: NonNeg | None = None
    hold_s: NonNeg | None = None
    stuck_n: Annotated[int, Field(ge=0)] | None = None
    silent_s: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _stuck(self) -> AlarmParams:
        if self.stuck_n == 1:
            raise ValueError("stuck_n: 0 (off) or at least 2 readings")
        return self

    def over(self, base: AlarmParams) -> AlarmParams:
        """These settings where given, ``base``'s elsewhere."""
        return base.model_copy(update=self.model_dump(exclude_none=True))


# used where neither the item nor the point says otherwise ⚠ (engineering defaults, not a standard)
DEFAULT_ALARM = AlarmParams(
    min_duration_s=300, dead_band=0.0, hold_s=1800, stuck_n=12, silent_s=3600
)


class PointConfig(BaseModel):
    """One monitoring point (监测点) of an item."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    name: Annotated[str, Field(min_length=1)]
    unit: str
    direction: Literal["above", "below"]
    quantity: Literal["amount", "rate"] = "amount"
    thresholds: dict[Level, float]
    phys_min: float | None = None
    phys_max: float | None = None
    max_jump: Annotated[float, Field(gt=0)] | None = None
    mn: Annotated[str, Field(min_length=1, max_length=24)] | None = None
    factor: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    alarm: AlarmParams = AlarmParams()
    # a rate point (位移变化速率) of the same instrument as an amount point: graded as one 监测点
    rate_of: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PointConfig:
        if not self.thresholds:
            raise ValueError("thresholds: give at least one level")
        schemes = [s for s in (COLOUR_LEVELS, ALARM_LEVELS) if set(self.thresholds) <= set(s)]
        if not schemes:
            raise ValueError(
                "thresholds: use the colours blue/yellow/orange/red or high/high_high, not both"
            )
        order = [lv for lv in schemes[0] if lv in self.thresholds]
        values = [self.thresholds[lv] for lv in order]
        step = "<" if self.direction == "above" else ">"
        for (a, va), (b, vb) in pairwise(zip(order, values, strict=True)):
            if not (va < vb if self.direction == "above" else va > vb):
                raise ValueError(
                    f"thresholds not ordered along direction {self.direction!r}: "
                    f"need {a} {step} {b}, got {a}={va} {b}={vb}"
                )
        lo, hi = self.phys_min, self.phys_max
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"phys_min {lo} must be below phys_max {hi}")
        outside = [
            lv
            for lv, v in self.thresholds.items()
            if (lo is not None and v < lo) or (hi is not None and v > hi)
        ]
        if outside:
            raise ValueError(f"thresholds {outside} lie outside phys_min..phys_max")
        if (self.mn is None) != (self.factor is None):
            raise ValueError("mn and factor go together (HJ 212 device and factor code)")
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat go together")
        if self.rate_of is not None and self.quantity != "rate":
            raise ValueError("rate_of is for points of quantity 'rate'")
        return self

    @property
    def scheme(self) -> tuple[str, ...]:
        return ALARM_LEVELS if set(self.thresholds) <= set(ALARM_LEVELS) else COLOUR_LEVELS


class ItemConfig(BaseModel):
    """A monitoring item (监测项目): its alarm defaults and its points."""

    model_config = ConfigDict(extra="forbid")
    alarm: AlarmParams = AlarmParams()
    points: Annotated[list[PointConfig], Field(min_length=1)]


class SiteConfig(BaseModel):
    """One site's file."""

    model_config = ConfigDict(extra="forbid")
    site: Annotated[str, Field(min_length=1)]
    supervising_section: Annotated[str, Field(min_length=1)]  # 危化股 / 矿山股 / 烟花爆竹股 …
    maintenance_contact: str | None = None
    auto_issue: bool = False
    alarm: AlarmParams = AlarmParams()  # the site's defaults for every item
    items: Annotated[dict[Item, ItemConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> SiteConfig:
        seen: dict[str, str] = {}
        codes: dict[tuple[str, str], str] = {}
        for item, block in self.items.items():
            amounts = {p.id for p in block.points if p.quantity == "amount"}
            for p in block.points:
                if p.rate_of is not None and p.rate_of not in amounts:
                    raise ValueError(
                        f"point {p.id}: rate_of {p.rate_of} is not an amount point of {item}"
                    )
                if p.id in seen:
                    raise ValueError(f"point {p.id}: id used twice (items {seen[p.id]}, {item})")
                seen[p.id] = item
                if p.mn is not None:
                    key = (p.mn, p.factor)
                    if key in codes:
                        raise ValueError(
                            f"point {p.id}: mn {p.mn} factor {p.factor} also on point {codes[key]}"
                        )
                    codes[key] = p.id
        return self

    def points(self) -> list[tuple[str, PointConfig, AlarmParams]]:
        """(item, point, effective alarm settings) for every point, in file order."""
        out = []
        for item, block in self.items.items():
            item_alarm = block.alarm.over(self.alarm.over(DEFAULT_ALARM))
            out.extend((item, p, p.alarm.over(item_alarm)) for p in block.points)
        return out

    def station_levels(self, levels: Mapping[str, str | None]) -> dict[str, list[str | None]]:
        """Per item, one level per monitoring point (监测点) for :mod:`.aggregate`: a rate point
        and the amount point it is ``rate_of`` count once, at the higher of their levels.
        ``levels``: point id → level (None or missing: no alarm)."""
        order = {lv: i for i, lv in enumerate(COLOUR_LEVELS + ALARM_LEVELS)}
        out: dict[str, list[str | None]] = {}
        for item, block in self.items.items():
            best: dict[str, str | None] = {}
            for p in block.points:
                key, lv = p.rate_of or p.id, levels.get(p.id)
                old = best.get(key)
                if old is None or (lv is not None and order[lv] > order[old]):
                    best[key] = lv
            out[item] = list(best.values())
        return out

    def check_kind(self, kind: str) -> None:
        """Items and threshold scheme must suit the site's kind (a dam has no gas detector)."""
        allowed, scheme = KIND_ITEMS.get(kind), KIND_LEVELS.get(kind)
        if allowed is None:
            raise ValueError(f"site kind {kind!r} takes no monitoring points here")
        for item, p, _ in self.points():
            if item not in allowed:
                raise ValueError(f"item {item}: not monitored at a {kind}; one of {list(allowed)}")
            if p.scheme != scheme:
                raise ValueError(f"point {p.id}: a {kind} uses thresholds {list(scheme)}")

    def stored(self) -> dict:
        """The configuration as kept in ``ws_site.config``: the file's content with every
        point's effective alarm settings filled in (what the alarm engine reads)."""
        doc = self.model_dump(mode="json", exclude_none=True)
        effective = {p.id: alarm.model_dump() for _item, p, alarm in self.points()}
        for block in doc["items"].values():
            for raw in block["points"]:
                raw["alarm"] = effective[raw["id"]]
        return doc


def parse_config(data: object, source: str) -> SiteConfig:
    """Validate one file's content; a DataError names ``source``, the point and the field."""
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"{source}: {_describe(exc, data)}") from None


def read_config(path: Path) -> SiteConfig:
    """Read and validate one YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read YAML: {exc}") from None
    return parse_config(data, str(path))


def _describe(exc: ValidationError, data: object) -> str:
    """pydantic's errors with point indexes replaced by point ids."""
    parts = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(x) for x in loc)
        if len(loc) >= 4 and loc[0] == "items" and loc[2] == "points" and isinstance(loc[3], int):
            pid = _point_id(data, loc[1], loc[3])
            field = ".".join(str(x) for x in loc[4:]) or "(point)"
            where = f"item {loc[1]} point {pid or f'#{loc[3] + 1}'} field {field}"
        elif loc:
            where = f"field {where}"
        else:
            where = "file"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def _point_id(data: object, item: object, index: int) -> str | None:
    try:
        pid = data["items"][item]["points"][index]["id"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None
    return str(pid)


__all__ = [
    "DEFAULT_ALARM",
    "KIND_ITEMS",
    "KIND_LEVELS",
    "AlarmParams",
    "ItemConfig",
    "PointConfig",
    "SiteConfig",
    "parse_config",
    "read_config",
]
