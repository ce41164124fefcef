"""Alarm and fault texts, Chinese first (what the duty officer and the site read).

e.g. ``麻阳锰矿尾矿库 浸润线埋深 P2 橙色预警：埋深 4.1 m（橙色 ≤ 4.4 m），持续 25 分钟``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from riskmap.geo.worksafety.levels import COLOURS
from riskmap.geo.worksafety.params import PointSpec
from riskmap.geo.worksafety.vocabulary import ITEM_ZH, LEVEL_ZH

BEIJING = timezone(timedelta(hours=8))

# the quantity's short word in a sentence ("埋深 4.1 m")
QUANTITY_ZH = {
    "surface_displacement": "位移",
    "internal_displacement": "位移",
    "phreatic_depth": "埋深",
    "dry_beach_length": "干滩长度",
    "freeboard": "安全超高",
    "pond_level": "水位",
    "rainfall": "雨量",
    "reservoir_landslide": "位移",
    "tank_level": "液位",
    "temperature": "温度",
    "pressure": "压力",
    "combustible_gas": "浓度",
    "toxic_gas": "浓度",
    "humidity": "湿度",
    "stored_quantity": "库存",
}
FAULT_ZH = {"stuck": "数据不变", "range": "超出量程", "jump": "数据突变", "silent": "数据中断"}


def num(v: float) -> str:
    """A reading as people write it: 4.1, 45, 0.125."""
    return f"{v:.4g}"


def grade(level_name: str) -> str:
    """橙色预警 / 高高报警."""
    return f"{LEVEL_ZH[level_name]}预警" if level_name in COLOURS else f"{LEVEL_ZH[level_name]}警"


def _quantity(point: PointSpec) -> str:
    word = QUANTITY_ZH.get(point.item, "读数")
    return f"{word}速率" if point.quantity == "rate" and "速率" not in word else word


def alarm_text(point: PointSpec, rank: int, value: float, began_at: float, at: float) -> str:
    """One point's threshold alarm at ``rank`` (its value, the threshold, how long)."""
    th = point.thresholds
    name = th.name(rank)
    op = "≥" if th.direction == "above" else "≤"
    minutes = max(0, round((at - began_at) / 60))
    return (
        f"{point.site_name} {point.name} {grade(name)}："
        f"{_quantity(point)} {num(value)} {point.unit}"
        f"（{LEVEL_ZH[name]} {op} {num(th.value_of(rank))} {point.unit}），持续 {minutes} 分钟"
    ).strip()


def event_text(point: PointSpec, rank: int, points_alarming: int, detail: str) -> str:
    """An item's event: how many points alarm, then its worst point's sentence."""
    item = ITEM_ZH.get(point.item, point.item)
    head = f"{point.site_name} {item} {grade(point.thresholds.name(rank))}"
    if points_alarming <= 1:
        return detail
    tail = detail.removeprefix(f"{point.site_name} ")
    return f"{head}：{points_alarming} 个测点报警；{tail}".strip()


def lowered_text(point: PointSpec, rank: int, points_alarming: int) -> str:
    item = ITEM_ZH.get(point.item, point.item)
    return (
        f"{point.site_name} {item} 降为{grade(point.thresholds.name(rank))}"
        f"：{points_alarming} 个测点报警"
    ).strip()


def cleared_text(point: PointSpec, max_rank: int, first_at: float, at: float) -> str:
    minutes = max(0, round((at - first_at) / 60))
    return (
        f"{point.site_name} {ITEM_ZH.get(point.item, point.item)} 报警解除"
        f"（最高 {LEVEL_ZH[point.thresholds.name(max_rank)]}，历时 {minutes} 分钟）"
    ).strip()


def fault_text(point: PointSpec, kind: str, value: float | None, at: float, *, n: int = 0) -> str:
    """A device fault, for the site's maintenance contact and the supervising section."""
    unit = point.unit
    if kind == "stuck":
        detail = f"读数 {num(value)} {unit} 连续 {n} 次不变"
    elif kind == "range":
        lo = "−∞" if point.phys_min is None else num(point.phys_min)
        hi = "∞" if point.phys_max is None else num(point.phys_max)
        detail = f"读数 {num(value)} {unit} 超出量程 {lo}–{hi} {unit}"
    elif kind == "jump":
        detail = f"读数突变至 {num(value)} {unit}（单次变化上限 {num(point.max_jump or 0)} {unit}）"
    else:
        since = datetime.fromtimestamp(at, UTC).astimezone(BEIJING).strftime("%m-%d %H:%M")
        detail = f"自 {since} 起无数据"
    return (
        f"{point.site_name} {point.name} 设备故障（{FAULT_ZH[kind]}）：{detail}，请运维人员检查"
    ).strip()


def fault_cleared_text(point: PointSpec, kind: str) -> str:
    return f"{point.site_name} {point.name} 设备恢复（{FAULT_ZH[kind]}已消除）".strip()
