"""Demo rescue teams: five county specialised teams and a comprehensive team per township.

Dispatch needs teams with members and equipment; each team's people are registered (leader,
deputies, members) and its kit drawn from the ranges of its specialty.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.geo.demo.resources.context import Ctx, geo_frame, plain_frame, points_in, serial_ids

# The five county specialised teams: specialty, name suffix, vehicle kinds (first 2–4 used).
COUNTY_TEAMS: list[tuple[str, str, list[str]]] = [
    ("road_traffic", "道路交通应急救援队", ["rescue", "excavator", "truck", "command"]),
    ("flood_control", "防汛抢险救援队", ["boat_trailer", "truck", "rescue", "command"]),
    ("hazardous_chemicals", "危险化学品应急救援队", ["fire_engine", "rescue", "command", "truck"]),
    ("forest_fire", "森林消防专业队", ["fire_engine", "rescue", "truck", "command"]),
    ("outdoor_rescue", "户外救援队", ["rescue", "command", "ambulance", "truck"]),
]

# Team equipment per specialty: code, zh-CN name, quantity range (inclusive).
EQUIPMENT: dict[str, list[tuple[str, str, int, int]]] = {
    "flood_control": [
        ("assault_boat", "冲锋舟", 2, 6),
        ("life_jacket", "救生衣", 40, 120),
        ("life_buoy", "救生圈", 20, 60),
        ("drainage_pump", "排水泵", 4, 12),
        ("line_thrower", "救生抛投器", 2, 6),
    ],
    "forest_fire": [
        ("wind_fire_extinguisher", "风力灭火机", 10, 30),
        ("fire_water_pump", "森林消防水泵", 2, 6),
        ("chainsaw", "油锯", 4, 10),
        ("fire_beater", "扑火拍", 30, 80),
        ("radio", "对讲机", 10, 30),
    ],
    "hazardous_chemicals": [
        ("protective_suit", "重型防化服", 6, 20),
        ("gas_detector", "有毒气体检测仪", 2, 8),
        ("foam_concentrate", "泡沫灭火剂（桶）", 10, 40),
        ("breathing_apparatus", "正压式空气呼吸器", 6, 20),
        ("leak_sealing_kit", "堵漏工具组", 1, 4),
    ],
    "road_traffic": [
        ("hydraulic_cutter", "液压剪扩器", 1, 4),
        ("tow_rope", "牵引绳", 4, 12),
        ("traffic_cone", "交通锥", 50, 200),
        ("warning_light", "警示灯", 10, 30),
        ("lifting_airbag", "起重气垫", 1, 3),
    ],
    "outdoor_rescue": [
        ("rescue_rope", "救援绳索", 10, 30),
        ("drone", "无人机", 1, 4),
        ("stretcher", "担架", 4, 10),
        ("satellite_phone", "卫星电话", 1, 3),
        ("headlamp", "头灯", 15, 40),
    ],
    "comprehensive": [
        ("drainage_pump", "排水泵", 1, 3),
        ("life_jacket", "救生衣", 10, 30),
        ("chainsaw", "油锯", 1, 3),
        ("wind_fire_extinguisher", "风力灭火机", 2, 8),
        ("first_aid_kit", "急救包", 2, 6),
        ("loudspeaker", "扩音喇叭", 1, 3),
        ("generator", "发电机", 1, 2),
    ],
}


def _team_members(
    ctx: Ctx, team_id: str, org: str, size: int, admin_code: str
) -> tuple[str, list[dict]]:
    """Leader, one or two deputies and members of one team; returns the leader and rows."""
    p = ctx.people
    leader = p.one(org=org, title="队长", admin_code=admin_code)
    deputies = p.add(int(ctx.rng.integers(1, 3)), org=org, title="副队长", admin_code=admin_code)
    members = p.add(size - 1 - len(deputies), org=org, title="队员", admin_code=admin_code)
    rows = [{"team_id": team_id, "person_id": leader, "role": "leader"}]
    rows += [{"team_id": team_id, "person_id": d, "role": "deputy"} for d in deputies]
    rows += [{"team_id": team_id, "person_id": m, "role": "member"} for m in members]
    return leader, rows


def _equipment(ctx: Ctx, team_id: str, specialty: str) -> list[dict]:
    return [
        {
            "team_id": team_id,
            "item": item,
            "item_name": name,
            "quantity": int(ctx.rng.integers(lo, hi + 1)),
        }
        for item, name, lo, hi in EQUIPMENT[specialty]
    ]


def make_teams(ctx: Ctx) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Five county specialised teams at the seat and a comprehensive team per township."""
    t, county = ctx.towns, ctx.county
    n = len(COUNTY_TEAMS) + len(t)
    ids = serial_ids("RT", county.code, n)
    specialty = [s for s, _, _ in COUNTY_TEAMS] + ["comprehensive"] * len(t)
    names = [f"{county.name}{suffix}" for _, suffix, _ in COUNTY_TEAMS]
    names += list(t["name"] + "综合应急救援队")
    level = ["county"] * len(COUNTY_TEAMS) + ["township"] * len(t)
    admin = [county.code] * len(COUNTY_TEAMS) + list(t["code"])
    leaders, members, equipment = [], [], []
    for i, tid in enumerate(ids):
        lo, hi = (15, 40) if level[i] == "county" else (8, 20)
        size = int(ctx.rng.integers(lo, hi + 1))
        leader, rows = _team_members(ctx, tid, names[i], size, admin[i])
        leaders.append(leader)
        members += rows
        equipment += _equipment(ctx, tid, specialty[i])
    base = points_in(t.geometry.to_numpy()[[ctx.seat]], np.array([len(COUNTY_TEAMS)]), ctx.rng)
    data = {
        "id": ids,
        "name": names,
        "specialty": specialty,
        "level": level,
        "admin_code": admin,
        "leader_id": leaders,
        "dataset_id": ctx.dataset_id,
    }
    team = geo_frame("rescue_team", data, np.concatenate([base, ctx.town_pts]))
    return team, plain_frame("team_member", members), plain_frame("team_equipment", equipment)
