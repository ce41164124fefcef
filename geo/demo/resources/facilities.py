"""Demo facilities: village schools, kindergartens and clinics, the county hospital and home.

They are who needs help (occupants to evacuate), so they follow each village's school and
clinic counts and sit inside their village.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from riskmap.geo.demo.resources.context import Ctx, geo_frame, points_in, serial_ids

_CN_ORDINAL = "一二三四五六七八九十"


def _facility_names(names: np.ndarray, nth: np.ndarray, suffix: str) -> list[str]:
    """石溪村小学, then 石溪村第二小学 for a second one in the same village."""
    return [
        f"{n}{suffix}" if j == 0 else f"{n}第{_CN_ORDINAL[min(j, 9)]}{suffix}"
        for n, j in zip(names, nth, strict=True)
    ]


def _village_facilities(ctx: Ctx) -> dict[str, np.ndarray | list]:
    """Schools, kindergartens and clinics of every village, per its counts, in village order."""
    v, rng = ctx.villages, ctx.rng
    counts = v["schools"].to_numpy(dtype=np.int64) + v["clinics"].to_numpy(dtype=np.int64)
    owner = np.repeat(np.arange(len(v)), counts)
    nth = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    is_school = nth < v["schools"].to_numpy(dtype=np.int64)[owner]
    nth = np.where(is_school, nth, nth - v["schools"].to_numpy(dtype=np.int64)[owner])
    kg = is_school & (rng.random(owner.size) < 0.25)
    kind = np.where(is_school, np.where(kg, "kindergarten", "school"), "clinic")
    names, vkind = v["name"].to_numpy()[owner], v["kind"].to_numpy()[owner]
    pop = v["population"].to_numpy(dtype=float)[owner]
    label = {
        "school": _facility_names(names, nth, "小学"),
        "kindergarten": _facility_names(names, nth, "幼儿园"),
        "clinic": [
            f"{n}{'卫生服务站' if k == 'community' else '卫生室'}"
            for n, k in zip(names, vkind, strict=True)
        ],
    }
    occupants = np.select(
        [kind == "school", kind == "kindergarten"],
        [
            np.maximum(15, pop * rng.uniform(0.06, 0.10, owner.size)),
            np.maximum(10, pop * rng.uniform(0.02, 0.04, owner.size)),
        ],
        rng.integers(3, 13, owner.size),
    )
    return {
        "kind": kind,
        "name": [label[k][i] for i, k in enumerate(kind)],
        "village_code": v["code"].to_numpy()[owner],
        "occupants": np.rint(occupants).astype(np.int64),
        "geom": points_in(v.geometry.to_numpy(), counts, rng),
    }


def make_facilities(ctx: Ctx) -> gpd.GeoDataFrame:
    """Village schools and clinics, plus the county hospital and nursing home in the seat."""
    rows = _village_facilities(ctx)
    v, rng = ctx.villages, ctx.rng
    in_seat = v.index[v["parent_code"] == ctx.towns.at[ctx.seat, "code"]]
    host = int(v.loc[in_seat, "population"].idxmax())
    total = float(v["population"].sum())
    extra = points_in(v.geometry.to_numpy()[[host]], np.array([2]), rng)
    kinds = [*rows["kind"], "hospital", "nursing_home"]
    data = {
        "id": serial_ids("FA", ctx.code, len(kinds)),
        "kind": kinds,
        "name": [*rows["name"], f"{ctx.county.name}人民医院", f"{ctx.county.name}社会福利院"],
        "village_code": [*rows["village_code"], v.at[host, "code"], v.at[host, "code"]],
        "occupants": [
            *rows["occupants"],
            int(np.clip(total * rng.uniform(0.001, 0.0015), 150, 3000)),
            int(rng.integers(60, 250)),
        ],
        "dataset_id": ctx.dataset_id,
    }
    return geo_frame("facility", data, np.concatenate([rows["geom"], extra]))
