"""The words of a site alarm: the 立即转移 warning below a dam, and the SMS to the site's people.

Chinese first, as villagers hear it read from a loudspeaker: what to do comes right after the
headline (the speech is headline, instruction, description), villages are named nearest the
dam first with how far below it they are, and the advice is the one that saves lives in a dam
break: climb the valley sides, never run down the valley.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from riskmap.geo.worksafety.vocabulary import ITEM_ZH, LEVEL_ZH

NEAR_M = 500.0  # closer than this a village is "紧邻坝下", not a distance in kilometres


@dataclass(frozen=True)
class Downstream:
    """A village below the dam, as the texts name it."""

    code: str
    name: str
    distance_m: float


def where_zh(villages: Sequence[Downstream]) -> str:
    """田垅村、吴庄村紧邻坝下，溪坪村在坝下约3.1公里，马岭村约4.1公里: no brackets, since a
    loudspeaker drops bracketed asides, and the distance is what tells a villager to hurry."""
    near = [v.name for v in villages if v.distance_m < NEAR_M]
    far = [v for v in villages if v.distance_m >= NEAR_M]
    parts = [f"{'、'.join(near)}紧邻坝下"] if near else []
    for k, v in enumerate(far):
        km = f"约{v.distance_m / 1000:.1f}公里"
        parts.append(f"{v.name}在坝下{km}" if k == 0 else f"{v.name}{km}")
    return "，".join(parts)


def where_en(villages: Sequence[Downstream]) -> str:
    return "; ".join(
        f"{v.name} just below the dam"
        if v.distance_m < NEAR_M
        else f"{v.name} {v.distance_m / 1000:.1f} km below"
        for v in villages
    )


def dam_warning_texts(
    site_name: str,
    dam_height_m: float | None,
    summary_zh: str,
    villages: Sequence[Downstream],
    reach_km: float,
) -> dict[str, str]:
    """The six texts of a red 立即转移 warning for the villages below a dam, nearest first."""
    people = "这些村的群众" if len(villages) > 1 else "村里的群众"
    height = f"坝高{dam_height_m:g}米，" if dam_height_m else ""
    height_en = f" ({dam_height_m:g} m high)" if dam_height_m else ""
    n = len(villages)
    return {
        "headline_zh": f"{site_name}溃坝风险红色预警，下游村庄立即转移",
        "headline_en": f"Tailings dam failure risk at {site_name}: red warning, evacuate now",
        "instruction_zh": (
            f"立即转移！{where_zh(villages)}，{people}马上离开沟谷和河边低处，向两边山坡高处转移，"
            "不要顺着沟谷往下游跑，不要返回拿东西。"
        ),
        "instruction_en": (
            f"Evacuate now: {where_en(villages)}. Leave the valley floor and the riverside, "
            "climb the valley sides to high ground; do not run down the valley and do not go "
            "back for belongings."
        ),
        "description_zh": (
            f"{site_name}{height}监测达到红色报警：{summary_zh}，有溃坝危险。一旦溃坝，"
            f"尾砂和洪水会顺着沟谷冲向下游，坝下{reach_km:g}公里内{n}个村庄受到威胁。"
        ),
        "description_en": (
            f"Monitoring at {site_name}{height_en} reached its red alarm level ({summary_zh}); "
            f"the dam may fail. A failure would send tailings and water down the valley: "
            f"{n} village{'s' if n != 1 else ''} within {reach_km:g} km below are at risk."
        ),
    }


def notice_text(
    county_name: str,
    site_name: str,
    item: str | None,
    level: str,
    kind: str,
    summary_zh: str,
    warning_note: str = "",
) -> str:
    """The SMS of a site alarm to its safety contact, maintenance contact or supervising
    section. A device fault says plainly that it is not a danger alarm."""
    sign = f"【{county_name}应急管理局】"
    what = ITEM_ZH.get(item or "", "")
    if kind == "fault":
        return (
            f"{sign}设备故障：{site_name}{what}监测设备{summary_zh}。这是设备故障，不是险情报警，"
            "请运维人员尽快到场检修，修复前请加密人工巡查。"
        )
    colour = LEVEL_ZH.get(level, level)
    ask = (
        "请立即停止作业、撤出坝下作业人员并赶赴现场处置。"
        if level in ("red", "high_high")
        else "请立即核实现场情况，加密巡查，做好应急准备。"
    )
    return f"{sign}{site_name}{what}{colour}报警：{summary_zh}。{warning_note}{ask}"
