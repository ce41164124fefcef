"""Demo emergency shelters (应急避难场所) sized to a share of each township's people.

Evacuation planning needs capacity near people; each township gets its central school and,
while short of its target, further shelters of other kinds, each with a manager on duty.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from riskmap.geo.demo.resources.context import Ctx, geo_frame, points_in, serial_ids, town_org

# Shelter kind → (name suffix after the township name, capacity range).
SHELTER_KINDS: dict[str, tuple[str, int, int]] = {
    "school": ("中心学校", 200, 800),
    "gymnasium": ("文体中心", 300, 3000),
    "government": ("", 100, 500),  # the township government compound (人民政府 / 办事处)
    "community_centre": ("综合文化站", 100, 500),
    "purpose_built": ("应急避难场所", 300, 3000),
    "open_space": ("人民广场", 1000, 10000),
}


def _shelter_plan(ctx: Ctx) -> tuple[list[int], list[str], list[int]]:
    """Township row, kind and capacity of each shelter.

    Every township has its central school; further shelters (at most three in all, plus the
    county square in the seat) are added while the total is short of a target of 5–15 % of
    the township's people, each within the size range of its kind.
    """
    rng, rows, kinds, caps = ctx.rng, [], [], []
    others = np.array(["gymnasium", "government", "community_centre", "purpose_built"])
    pops = ctx.towns["population"].to_numpy(dtype=float)
    for i, pop in enumerate(pops):
        left = pop * rng.uniform(0.05, 0.15)
        extra = ["open_space"] if i == ctx.seat else []
        plan = ["school", *extra, *rng.permutation(others)[:2]]
        for j, kind in enumerate(plan):
            lo, hi = SHELTER_KINDS[kind][1:]
            if j > 0 and left < lo:
                break
            share = 1.0 if j == len(plan) - 1 else rng.uniform(0.4, 0.8)
            cap = int(np.clip(round(left * share), lo, hi))
            rows.append(i)
            kinds.append(str(kind))
            caps.append(cap)
            left -= cap
    return rows, kinds, caps


def _shelter_name(ctx: Ctx, town: str, town_kind: str, kind: str) -> str:
    """石溪镇中心学校应急避难场所, 石溪镇人民政府应急避难场所, 麻阳…人民广场应急避难场所."""
    if kind == "open_space":
        return f"{ctx.county.name}人民广场应急避难场所"
    if kind == "purpose_built":
        return f"{town}应急避难场所"
    place = SHELTER_KINDS[kind][0] or town_org(town, town_kind).removeprefix(town)
    return f"{town}{place}应急避难场所"


def make_shelters(ctx: Ctx) -> gpd.GeoDataFrame:
    """Shelters sized to hold roughly 5–15 % of each township's people, each with a manager."""
    t, rng = ctx.towns, ctx.rng
    rows, kinds, caps = _shelter_plan(ctx)
    row = np.asarray(rows, dtype=np.int64)
    capacity = np.asarray(caps, dtype=np.int64)
    ids = serial_ids("SH", ctx.code, row.size)
    names = [
        _shelter_name(ctx, t.at[r, "name"], t.at[r, "kind"], k)
        for r, k in zip(rows, kinds, strict=True)
    ]
    managers = []
    for sid, r in zip(ids, rows, strict=True):
        code = t.at[r, "code"]
        pid = ctx.people.one(
            org=town_org(t.at[r, "name"], t.at[r, "kind"]), title="场所管理员", admin_code=code
        )
        ctx.people.duty(pid, "shelter_manager", shelter_id=sid)
        managers.append(pid)
    pts = points_in(t.geometry.to_numpy(), np.bincount(row, minlength=len(t)), rng)
    # points_in returns points grouped by township; shelters are already in township order.
    data = {
        "id": ids,
        "name": names,
        "kind": kinds,
        "admin_code": t["code"].to_numpy()[row],
        "capacity": capacity,
        "occupancy": np.zeros(row.size, dtype=np.int64),
        "area_m2": (capacity * rng.uniform(2.0, 3.0, row.size)).round(0),
        "manager_id": managers,
        "dataset_id": ctx.dataset_id,
    }
    return geo_frame("shelter", data, pts)
