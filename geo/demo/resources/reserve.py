"""The demo relief reserve: county warehouse, township stations, village rooms and their stock.

The three-level reserve (库 / 站 / 点) is where dispatch finds tents, pumps and food; stock is
scaled by the people each warehouse serves. Rates are demo assumptions ⚠, not a standard.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.geo.demo.resources.context import (
    Ctx,
    bureau,
    geo_frame,
    plain_frame,
    points_in,
    serial_ids,
    town_org,
    village_org,
)

# Relief stock: code, zh-CN name, unit, then units per 1,000 people served at county, township
# and village level (0 = not held at that level), and the share of village rooms holding it.
STOCK_ITEMS: list[tuple[str, str, str, float, float, float, float]] = [
    ("tent", "帐篷", "顶", 1.0, 1.0, 1.0, 0.3),
    ("folding_bed", "折叠床", "张", 2.0, 2.0, 0.0, 0.0),
    ("quilt", "棉被", "床", 4.0, 4.0, 5.0, 0.7),
    ("life_jacket", "救生衣", "件", 1.5, 3.0, 5.0, 0.9),
    ("sandbag", "编织袋", "条", 100.0, 150.0, 100.0, 0.8),
    ("drainage_pump", "排水泵", "台", 0.05, 0.15, 0.5, 0.2),
    ("generator", "发电机", "台", 0.04, 0.1, 0.5, 0.25),
    ("assault_boat", "冲锋舟", "艘", 0.02, 0.0, 0.0, 0.0),
    ("drinking_water", "饮用水", "箱", 5.0, 3.0, 3.0, 0.6),
    ("instant_food", "方便食品", "箱", 5.0, 3.0, 3.0, 0.6),
    ("flashlight", "手电筒", "把", 2.0, 3.0, 5.0, 1.0),
    ("fire_extinguisher", "灭火器", "具", 1.0, 2.0, 3.0, 1.0),
    ("wind_fire_extinguisher", "风力灭火机", "台", 0.15, 0.4, 0.0, 0.0),
    ("chainsaw", "油锯", "台", 0.05, 0.2, 0.6, 0.3),
    ("first_aid_kit", "急救包", "个", 1.0, 2.0, 3.0, 0.9),
    ("loudspeaker", "扩音喇叭", "个", 0.3, 0.5, 1.5, 1.0),
]


def make_warehouses(ctx: Ctx) -> gpd.GeoDataFrame:
    """The three-level reserve: county warehouse, township stations, village rooms."""
    p, t, v, rng, county = ctx.people, ctx.towns, ctx.villages, ctx.rng, ctx.county
    seat = t.iloc[ctx.seat]
    manager = [p.one(org=bureau(county), title="储备库主任", admin_code=county.code)]
    manager += [
        p.one(org=town_org(n, k), title="物资管理员", admin_code=c)
        for c, n, k in zip(t["code"], t["name"], t["kind"], strict=True)
    ]
    manager += [
        p.one(org=village_org(n, k), title="物资保管员", admin_code=c)
        for c, n, k in zip(v["code"], v["name"], v["kind"], strict=True)
    ]
    town_name = dict(zip(t["code"], t["name"], strict=True))
    n = 1 + len(t) + len(v)
    data = {
        "id": serial_ids("WH", county.code, n),
        "name": [
            f"{county.name}应急物资储备库",
            *(t["name"] + "应急物资储备站"),
            *(v["name"] + "应急物资储备点"),
        ],
        "level": ["county"] + ["township"] * len(t) + ["village"] * len(v),
        "admin_code": [county.code, *t["code"], *v["code"]],
        "address": [
            f"{county.name}{seat['name']}",
            *(county.name + t["name"]),
            *(county.name + v["parent_code"].map(town_name) + v["name"]),
        ],
        "manager_id": manager,
        "floor_m2": np.concatenate(
            [
                rng.uniform(1500, 4000, 1),
                rng.uniform(100, 400, len(t)),
                rng.uniform(15, 60, len(v)),
            ]
        ).round(1),
        "dataset_id": ctx.dataset_id,
    }
    county_pt = points_in(t.geometry.to_numpy()[[ctx.seat]], np.array([1]), rng)
    return geo_frame("warehouse", data, np.concatenate([county_pt, ctx.town_pts, ctx.village_pts]))


def make_stock(ctx: Ctx, warehouses: pd.DataFrame) -> pd.DataFrame:
    """Relief stock scaled by the people each warehouse serves; village rooms hold a subset."""
    t, v = ctx.towns, ctx.villages
    served = np.concatenate(
        [
            [float(v["population"].sum())],
            t["population"].to_numpy(dtype=float),
            v["population"].to_numpy(dtype=float),
        ]
    )
    level = warehouses["level"].to_numpy()
    items = np.array([row[:3] for row in STOCK_ITEMS], dtype=object)
    rates = np.array([row[3:6] for row in STOCK_ITEMS], dtype=float)  # (items, 3 levels)
    share = np.array([row[6] for row in STOCK_ITEMS], dtype=float)
    lvl = np.select([level == "county", level == "township"], [0, 1], 2)
    rate = rates[:, lvl].T  # (warehouses, items)
    held = (rate > 0) & ((lvl[:, None] < 2) | (ctx.rng.random(rate.shape) < share))
    noise = ctx.rng.lognormal(0.0, 0.25, rate.shape)
    qty = np.maximum(1, np.rint(rate * served[:, None] / 1000 * noise)).astype(np.int64)
    w, i = np.nonzero(held)
    return plain_frame(
        "stock",
        {
            "warehouse_id": warehouses["id"].to_numpy()[w],
            "item": items[i, 0],
            "item_name": items[i, 1],
            "unit": items[i, 2],
            "quantity": qty[w, i],
        },
    )
