"""Synthetic emergency resources (应急资源一张图) for a demo county.

A county bureau's resource "one map" shows where help is: schools, clinics and the hospital
(who needs help), the three-level reserve of relief stock (county warehouse 库, township
station 站, village room 点), shelters, the five specialised rescue teams plus a
comprehensive team in every township, experts, vehicles, the village broadcast terminals
(村村响) and the 24-hour duty roster (值班表). None of it is public for a real county, so the
demo invents it, seeded and plausible for a Hunan mountain county, as frames whose columns are
exactly those of the database tables (``geo/db/migrations/0002``, ``0006``–``0008``).

Rates and sizes below are demo assumptions ⚠, not figures from a standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.geo.demo.boundaries import AdminOutline
from riskmap.geo.demo.people import People

CRS = "EPSG:4326"
ROSTER_DAYS = 14
MQTT_URL = "mqtt://127.0.0.1:1883/riskmap/broadcast/{code}"
# Prefecture (first four GB/T 2260 digits) → plate letter after 湘 and telephone area code.
PLATE_LETTER = {"4312": "N", "4304": "D"}
AREA_CODE = {"4312": "0745", "4304": "0734"}
DEFAULT_PLATE_LETTER = "A"
DEFAULT_AREA_CODE = "0731"
PLATE_PROVINCE = "湘"
_PLATE_LETTERS = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))  # no I or O on plates
_CN_ORDINAL = "一二三四五六七八九十"

COLUMNS: dict[str, list[str]] = {
    "facility": ["id", "kind", "name", "village_code", "occupants", "dataset_id", "geom"],
    "warehouse": [
        "id",
        "name",
        "level",
        "admin_code",
        "address",
        "manager_id",
        "floor_m2",
        "dataset_id",
        "geom",
    ],
    "stock": ["warehouse_id", "item", "item_name", "unit", "quantity"],
    "shelter": [
        "id",
        "name",
        "kind",
        "admin_code",
        "capacity",
        "occupancy",
        "area_m2",
        "manager_id",
        "dataset_id",
        "geom",
    ],
    "rescue_team": [
        "id",
        "name",
        "specialty",
        "level",
        "admin_code",
        "leader_id",
        "dataset_id",
        "geom",
    ],
    "team_member": ["team_id", "person_id", "role"],
    "team_equipment": ["team_id", "item", "item_name", "quantity"],
    "expert": ["person_id", "specialty", "employer", "dataset_id"],
    "vehicle": [
        "id",
        "plate",
        "kind",
        "seats",
        "payload_t",
        "team_id",
        "warehouse_id",
        "dataset_id",
        "geom",
    ],
    "broadcast_terminal": [
        "id",
        "name",
        "village_code",
        "protocol",
        "endpoint",
        "speakers",
        "status",
        "dataset_id",
        "geom",
    ],
    "duty_shift": ["org_code", "post", "person_id", "shift", "phone", "dataset_id"],
}

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

# Vehicle kind → (seats, payload in tonnes).
VEHICLE_SPECS: dict[str, tuple[int, float]] = {
    "rescue": (5, 1.0),
    "fire_engine": (6, 5.0),
    "ambulance": (4, 0.5),
    "truck": (3, 8.0),
    "boat_trailer": (0, 1.5),
    "command": (7, 0.5),
    "excavator": (1, 0.0),
}

# Experts: specialty, how many, employer (after the county name), titles to draw from.
EXPERTS: list[tuple[str, int, str, tuple[str, ...]]] = [
    ("flood", 4, "水利局", ("高级工程师", "工程师")),
    ("geohazard", 4, "自然资源局", ("高级工程师", "工程师")),
    ("forest_fire", 3, "林业局", ("高级工程师", "工程师")),
    ("hazardous_chemicals", 2, "应急管理局", ("高级工程师", "注册安全工程师")),
    ("meteorology", 2, "气象局", ("高级工程师", "工程师")),
    ("structural", 2, "住房和城乡建设局", ("高级工程师", "注册结构工程师")),
    ("medical", 2, "人民医院", ("主任医师", "副主任医师")),
    ("mining", 1, "应急管理局", ("高级工程师",)),
]

# Shelter kind → (name suffix after the township name, capacity range).
SHELTER_KINDS: dict[str, tuple[str, int, int]] = {
    "school": ("中心学校", 200, 800),
    "gymnasium": ("文体中心", 300, 3000),
    "government": ("", 100, 500),  # the township government compound (人民政府 / 办事处)
    "community_centre": ("综合文化站", 100, 500),
    "purpose_built": ("应急避难场所", 300, 3000),
    "open_space": ("人民广场", 1000, 10000),
}


@dataclass
class _Ctx:
    """Inputs shared by the per-table helpers."""

    county: AdminOutline
    towns: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    people: People
    rng: np.random.Generator
    dataset_id: str
    seat: int  # row of the seat township in ``towns``
    town_pts: np.ndarray  # township government compound
    village_pts: np.ndarray  # village committee (warehouse room and loudspeaker terminal)

    @property
    def code(self) -> str:
        return self.county.code


def make_resources(
    county: AdminOutline,
    townships: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    people: People,
    *,
    seed: int,
    dataset_id: str,
    roster_start: datetime,
    broadcast_url: str = "http://127.0.0.1:8900/broadcast/{code}",
) -> dict[str, pd.DataFrame]:
    """Invent a county's emergency resources, ready to load into the database.

    The demo needs a full resource "one map" (warehouses and stock, shelters, teams, experts,
    vehicles, broadcast terminals, the duty roster) to exercise dispatch, warning delivery and
    the map, and no real county publishes one. Everything is placed inside the synthetic
    townships and villages, seeded so that a seed always gives the same county, and built
    table by table with vectorised sampling so that 25,000 villages take seconds.

    Parameters
    ----------
    county
        The county outline (its code prefixes every id; its name is used in names).
    townships
        Output of ``make_townships`` (``roll_up`` optional: populations are summed from
        ``villages`` here); exactly one row has ``is_seat``.
    villages
        Output of ``make_villages``.
    people
        Registry that receives every person (village cadres, grid officers, disaster
        information officers, managers, team members, experts, duty officials) and their
        duties (``village_cadre``, ``grid_officer``, ``disaster_info_officer``,
        ``township_leader``, ``shelter_manager``).
    seed
        Seed of the ``numpy.random.default_rng`` used for every draw here.
    dataset_id
        Provenance id written to every row that has a ``dataset_id`` column.
    roster_start
        Timezone-aware start of the 14-day duty roster; each shift lasts 24 hours from it
        (08:00 Beijing time is 00:00 UTC).
    broadcast_url
        Template of the HTTP endpoint of a village terminal, with ``{code}`` for the village
        code (MQTT terminals use a local broker instead).

    Returns
    -------
    dict of str to pandas.DataFrame
        Keyed by table name (``facility``, ``warehouse``, ``stock``, ``shelter``,
        ``rescue_team``, ``team_member``, ``team_equipment``, ``expert``, ``vehicle``,
        ``broadcast_terminal``, ``duty_shift``), columns exactly those of the table (see
        :data:`COLUMNS`); tables with a location are GeoDataFrames with a ``geom`` point
        column in EPSG:4326.

    Raises
    ------
    ValueError
        If ``roster_start`` is naive or the townships do not have exactly one seat.
    """
    if roster_start.tzinfo is None or roster_start.utcoffset() is None:
        raise ValueError("roster_start must be timezone-aware")
    ctx = _context(county, townships, villages, people, seed=seed, dataset_id=dataset_id)
    pools = _officials(ctx)
    _village_people(ctx)
    out: dict[str, pd.DataFrame] = {"facility": _facilities(ctx)}
    out["warehouse"] = _warehouses(ctx)
    out["stock"] = _stock(ctx, out["warehouse"])
    out["shelter"] = _shelters(ctx)
    out["rescue_team"], out["team_member"], out["team_equipment"] = _teams(ctx)
    out["expert"] = _experts(ctx)
    out["vehicle"] = _vehicles(ctx, out["rescue_team"], out["warehouse"])
    out["broadcast_terminal"] = _terminals(ctx, broadcast_url)
    out["duty_shift"] = _duty_shifts(ctx, pools, roster_start)
    return out


# --------------------------------------------------------------------------- helpers


def _context(
    county: AdminOutline,
    townships: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    people: People,
    *,
    seed: int,
    dataset_id: str,
) -> _Ctx:
    """Normalise the inputs and place the township compounds and village committees."""
    towns = townships.reset_index(drop=True).copy()
    vill = villages.reset_index(drop=True)
    pop = vill.groupby("parent_code")["population"].sum()
    towns["population"] = towns["code"].map(pop).fillna(0).astype(np.int64)
    seats = np.flatnonzero(towns["is_seat"].to_numpy(dtype=bool))
    if seats.size != 1:
        raise ValueError(f"expected exactly one seat township, got {seats.size}")
    rng = np.random.default_rng(seed)
    town_pts = _points_in(towns.geometry.to_numpy(), np.ones(len(towns), dtype=np.int64), rng)
    village_pts = _points_in(vill.geometry.to_numpy(), np.ones(len(vill), dtype=np.int64), rng)
    return _Ctx(county, towns, vill, people, rng, dataset_id, int(seats[0]), town_pts, village_pts)


def _points_in(units: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``counts[i]`` random points strictly inside ``units[i]``, flattened in unit order.

    Like ``partition.sample_points`` but for many areas at once: candidates are drawn in each
    unit's bounding box (eight per wanted point) and tested in one vectorised call per round,
    so 25,000 villages need a handful of calls instead of 25,000. A unit too thin to hit in
    twelve rounds falls back to its point on surface.
    """
    owner = np.repeat(np.arange(units.size), np.asarray(counts, dtype=np.int64))
    if owner.size == 0:
        return np.empty(0, dtype=object)
    prepared = shapely.from_wkb(shapely.to_wkb(units))  # a copy: leave the caller's unprepared
    shapely.prepare(prepared)
    box = shapely.bounds(units)
    xy = np.full((owner.size, 2), np.nan)
    todo = np.arange(owner.size)
    tries = 8
    for _ in range(12):
        g = np.repeat(owner[todo], tries)
        x = rng.uniform(box[g, 0], box[g, 2])
        y = rng.uniform(box[g, 1], box[g, 3])
        ok = shapely.contains_xy(prepared[g], x, y).reshape(-1, tries)
        hit = ok.any(axis=1)
        pick = np.flatnonzero(hit) * tries + ok.argmax(axis=1)[hit]
        xy[todo[hit], 0] = x[pick]
        xy[todo[hit], 1] = y[pick]
        todo = todo[~hit]
        if todo.size == 0:
            break
    if todo.size:  # pragma: no cover - slivers only
        xy[todo] = shapely.get_coordinates(shapely.point_on_surface(units[owner[todo]]))
    return shapely.points(xy)


def _ids(prefix: str, county_code: str, n: int) -> list[str]:
    """Stable serial ids such as ``WH431226-001`` (at least three digits)."""
    width = max(3, len(str(n)))
    return [f"{prefix}{county_code}-{i:0{width}d}" for i in range(1, n + 1)]


def _geo(table: str, data: dict, geom: np.ndarray) -> gpd.GeoDataFrame:
    """A GeoDataFrame with the table's columns in order and ``geom`` as its geometry."""
    frame = gpd.GeoDataFrame(
        {**data, "geom": gpd.GeoSeries(geom, crs=CRS)}, geometry="geom", crs=CRS
    )
    return frame[COLUMNS[table]]


def _plain(table: str, rows: dict | list[dict]) -> pd.DataFrame:
    """A DataFrame with the table's columns in order (also when empty)."""
    return pd.DataFrame(rows, columns=COLUMNS[table])


def _town_org(name: str, kind: str) -> str:
    return f"{name}办事处" if kind == "subdistrict" else f"{name}人民政府"


def _village_org(name: str, kind: str) -> str:
    return f"{name}居民委员会" if kind == "community" else f"{name}村民委员会"


def _bureau(county: AdminOutline) -> str:
    return f"{county.name}应急管理局"


# --------------------------------------------------------------------------- people


@dataclass
class _Pool:
    """Officials of one office who take turns on the duty roster, by post."""

    org_code: str
    leader: list[str]
    chief: list[str]
    officer: list[str]


def _officials(ctx: _Ctx) -> list[_Pool]:
    """County bureau and township duty officials; township leaders and info officers."""
    p, code = ctx.people, ctx.code
    org = _bureau(ctx.county)
    director = p.one(org=org, title="局长", admin_code=code)
    deputies = p.add(3, org=org, title="副局长", admin_code=code)
    pools = [
        _Pool(
            code,
            leader=[director, *deputies],
            chief=p.add(4, org=org, title="股长", admin_code=code),
            officer=p.add(6, org=org, title="科员", admin_code=code),
        )
    ]
    for t in ctx.towns.itertuples(index=False):
        org = _town_org(t.name, t.kind)
        sub = t.kind == "subdistrict"
        head = p.one(org=org, title="街道办主任" if sub else "乡镇长", admin_code=t.code)
        deputies = p.add(2, org=org, title="街道办副主任" if sub else "副乡镇长", admin_code=t.code)
        director = p.one(org=org, title="应急办主任", admin_code=t.code)
        staff = p.add(6, org=org, title="干部", admin_code=t.code)
        info = p.one(org=org, title="灾害信息员", admin_code=t.code)
        p.duty(head, "township_leader", admin_code=t.code)
        p.duty(info, "disaster_info_officer", admin_code=t.code)
        pools.append(_Pool(t.code, [head, *deputies], [director, *staff[:2]], staff[2:]))
    return pools


def _village_people(ctx: _Ctx) -> None:
    """Per village a cadre, 1–3 grid officers and a disaster information officer."""
    v = ctx.villages
    pop = v["population"].to_numpy(dtype=float)
    grids = np.clip(np.rint(pop / 1000 + ctx.rng.uniform(-0.5, 0.5, len(v))), 1, 3).astype(int)
    p = ctx.people
    for code, name, kind, k in zip(v["code"], v["name"], v["kind"], grids, strict=True):
        org = _village_org(name, kind)
        cadre = p.one(
            org=org, title="社区书记" if kind == "community" else "村支书", admin_code=code
        )
        p.duty(cadre, "village_cadre", admin_code=code)
        for pid in p.add(int(k), org=org, title="网格员", admin_code=code):
            p.duty(pid, "grid_officer", admin_code=code)
        info = p.one(org=org, title="灾害信息员", admin_code=code)
        p.duty(info, "disaster_info_officer", admin_code=code)


# --------------------------------------------------------------------------- facilities


def _facility_names(names: np.ndarray, nth: np.ndarray, suffix: str) -> list[str]:
    """石溪村小学, then 石溪村第二小学 for a second one in the same village."""
    return [
        f"{n}{suffix}" if j == 0 else f"{n}第{_CN_ORDINAL[min(j, 9)]}{suffix}"
        for n, j in zip(names, nth, strict=True)
    ]


def _village_facilities(ctx: _Ctx) -> dict[str, np.ndarray | list]:
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
        "geom": _points_in(v.geometry.to_numpy(), counts, rng),
    }


def _facilities(ctx: _Ctx) -> gpd.GeoDataFrame:
    """Village schools and clinics, plus the county hospital and nursing home in the seat."""
    rows = _village_facilities(ctx)
    v, rng = ctx.villages, ctx.rng
    in_seat = v.index[v["parent_code"] == ctx.towns.at[ctx.seat, "code"]]
    host = int(v.loc[in_seat, "population"].idxmax())
    total = float(v["population"].sum())
    extra = _points_in(v.geometry.to_numpy()[[host]], np.array([2]), rng)
    kinds = [*rows["kind"], "hospital", "nursing_home"]
    data = {
        "id": _ids("FA", ctx.code, len(kinds)),
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
    return _geo("facility", data, np.concatenate([rows["geom"], extra]))


# --------------------------------------------------------------------------- reserve


def _warehouses(ctx: _Ctx) -> gpd.GeoDataFrame:
    """The three-level reserve: county warehouse, township stations, village rooms."""
    p, t, v, rng, county = ctx.people, ctx.towns, ctx.villages, ctx.rng, ctx.county
    seat = t.iloc[ctx.seat]
    manager = [p.one(org=_bureau(county), title="储备库主任", admin_code=county.code)]
    manager += [
        p.one(org=_town_org(n, k), title="物资管理员", admin_code=c)
        for c, n, k in zip(t["code"], t["name"], t["kind"], strict=True)
    ]
    manager += [
        p.one(org=_village_org(n, k), title="物资保管员", admin_code=c)
        for c, n, k in zip(v["code"], v["name"], v["kind"], strict=True)
    ]
    town_name = dict(zip(t["code"], t["name"], strict=True))
    n = 1 + len(t) + len(v)
    data = {
        "id": _ids("WH", county.code, n),
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
    county_pt = _points_in(t.geometry.to_numpy()[[ctx.seat]], np.array([1]), rng)
    return _geo("warehouse", data, np.concatenate([county_pt, ctx.town_pts, ctx.village_pts]))


def _stock(ctx: _Ctx, warehouses: pd.DataFrame) -> pd.DataFrame:
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
    return _plain(
        "stock",
        {
            "warehouse_id": warehouses["id"].to_numpy()[w],
            "item": items[i, 0],
            "item_name": items[i, 1],
            "unit": items[i, 2],
            "quantity": qty[w, i],
        },
    )


# --------------------------------------------------------------------------- shelters


def _shelter_plan(ctx: _Ctx) -> tuple[list[int], list[str], list[int]]:
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


def _shelter_name(ctx: _Ctx, town: str, town_kind: str, kind: str) -> str:
    """石溪镇中心学校应急避难场所, 石溪镇人民政府应急避难场所, 麻阳…人民广场应急避难场所."""
    if kind == "open_space":
        return f"{ctx.county.name}人民广场应急避难场所"
    if kind == "purpose_built":
        return f"{town}应急避难场所"
    place = SHELTER_KINDS[kind][0] or _town_org(town, town_kind).removeprefix(town)
    return f"{town}{place}应急避难场所"


def _shelters(ctx: _Ctx) -> gpd.GeoDataFrame:
    """Shelters sized to hold roughly 5–15 % of each township's people, each with a manager."""
    t, rng = ctx.towns, ctx.rng
    rows, kinds, caps = _shelter_plan(ctx)
    row = np.asarray(rows, dtype=np.int64)
    capacity = np.asarray(caps, dtype=np.int64)
    ids = _ids("SH", ctx.code, row.size)
    names = [
        _shelter_name(ctx, t.at[r, "name"], t.at[r, "kind"], k)
        for r, k in zip(rows, kinds, strict=True)
    ]
    managers = []
    for sid, r in zip(ids, rows, strict=True):
        code = t.at[r, "code"]
        pid = ctx.people.one(
            org=_town_org(t.at[r, "name"], t.at[r, "kind"]), title="场所管理员", admin_code=code
        )
        ctx.people.duty(pid, "shelter_manager", shelter_id=sid)
        managers.append(pid)
    pts = _points_in(t.geometry.to_numpy(), np.bincount(row, minlength=len(t)), rng)
    # _points_in returns points grouped by township; shelters are already in township order.
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
    return _geo("shelter", data, pts)


# --------------------------------------------------------------------------- teams


def _team_members(
    ctx: _Ctx, team_id: str, org: str, size: int, admin_code: str
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


def _equipment(ctx: _Ctx, team_id: str, specialty: str) -> list[dict]:
    return [
        {
            "team_id": team_id,
            "item": item,
            "item_name": name,
            "quantity": int(ctx.rng.integers(lo, hi + 1)),
        }
        for item, name, lo, hi in EQUIPMENT[specialty]
    ]


def _teams(ctx: _Ctx) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Five county specialised teams at the seat and a comprehensive team per township."""
    t, county = ctx.towns, ctx.county
    n = len(COUNTY_TEAMS) + len(t)
    ids = _ids("RT", county.code, n)
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
    base = _points_in(t.geometry.to_numpy()[[ctx.seat]], np.array([len(COUNTY_TEAMS)]), ctx.rng)
    data = {
        "id": ids,
        "name": names,
        "specialty": specialty,
        "level": level,
        "admin_code": admin,
        "leader_id": leaders,
        "dataset_id": ctx.dataset_id,
    }
    team = _geo("rescue_team", data, np.concatenate([base, ctx.town_pts]))
    return team, _plain("team_member", members), _plain("team_equipment", equipment)


def _experts(ctx: _Ctx) -> pd.DataFrame:
    """About twenty county experts across the specialties the ``expert`` table allows."""
    rows = []
    for specialty, count, employer, titles in EXPERTS:
        org = f"{ctx.county.name}{employer}"
        for _ in range(count):
            title = titles[int(ctx.rng.integers(len(titles)))]
            pid = ctx.people.one(org=org, title=title, admin_code=ctx.code)
            rows.append(
                {
                    "person_id": pid,
                    "specialty": specialty,
                    "employer": org,
                    "dataset_id": ctx.dataset_id,
                }
            )
    return _plain("expert", rows)


# --------------------------------------------------------------------------- vehicles


def _plates(rng: np.random.Generator, n: int, letter: str) -> list[str]:
    """``n`` distinct plates such as 湘N3K0Q7: five characters, mostly digits, no I or O."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        k = n - len(out)
        digits = rng.integers(0, 10, (k, 5)).astype(str)
        letters = _PLATE_LETTERS[rng.integers(len(_PLATE_LETTERS), size=(k, 5))]
        chars = np.where(rng.random((k, 5)) < 0.8, digits, letters)
        for row in chars:
            plate = f"{PLATE_PROVINCE}{letter}{''.join(row)}"
            if plate not in seen:
                seen.add(plate)
                out.append(plate)
    return out


def _vehicles(ctx: _Ctx, teams: gpd.GeoDataFrame, warehouses: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """2–4 vehicles per county team, one per township team, trucks at the county warehouse."""
    rng = ctx.rng
    kinds_by_team = {s: kinds for s, _, kinds in COUNTY_TEAMS}
    kind, team_id, wh_id, geoms = [], [], [], []
    for tid, spec, geom in zip(teams["id"], teams["specialty"], teams.geometry, strict=True):
        picked = ["rescue"]
        if spec in kinds_by_team:
            picked = kinds_by_team[spec][: int(rng.integers(2, 5))]
        kind += picked
        team_id += [tid] * len(picked)
        wh_id += [None] * len(picked)
        geoms += [geom] * len(picked)
    trucks = int(rng.integers(2, 5))
    county_wh = warehouses.iloc[0]
    kind += ["truck"] * trucks
    team_id += [None] * trucks
    wh_id += [county_wh["id"]] * trucks
    geoms += [warehouses.geometry.iloc[0]] * trucks
    seats = np.array([VEHICLE_SPECS[k][0] for k in kind], dtype=np.int64)
    payload = np.array([VEHICLE_SPECS[k][1] for k in kind]) * rng.uniform(0.6, 1.25, len(kind))
    letter = PLATE_LETTER.get(ctx.code[:4], DEFAULT_PLATE_LETTER)
    data = {
        "id": _ids("VH", ctx.code, len(kind)),
        "plate": _plates(rng, len(kind), letter),
        "kind": kind,
        "seats": seats,
        "payload_t": payload.round(1),
        "team_id": team_id,
        "warehouse_id": wh_id,
        "dataset_id": ctx.dataset_id,
    }
    return _geo("vehicle", data, np.array(geoms, dtype=object))


# --------------------------------------------------------------------------- broadcast


def _terminals(ctx: _Ctx, broadcast_url: str) -> gpd.GeoDataFrame:
    """One 村村响 terminal per village committee: mostly HTTP JSON, some EBM XML and MQTT."""
    v, rng = ctx.villages, ctx.rng
    n = len(v)
    draw = rng.random(n)
    protocol = np.where(draw < 0.1, "mqtt", np.where(draw < 0.3, "ebm-xml", "http-json"))
    endpoint = [
        MQTT_URL.format(code=c) if p == "mqtt" else broadcast_url.format(code=c)
        for c, p in zip(v["code"], protocol, strict=True)
    ]
    pop = v["population"].to_numpy(dtype=float)
    speakers = np.clip(np.rint(pop / 800 + rng.uniform(-1, 1, n)), 1, 6).astype(np.int64)
    health = rng.random(n)
    status = np.where(health < 0.03, "fault", np.where(health < 0.08, "offline", "online"))
    data = {
        "id": _ids("BT", ctx.code, n),
        "name": list(v["name"] + "应急广播终端"),
        "village_code": v["code"].to_numpy(),
        "protocol": protocol,
        "endpoint": endpoint,
        "speakers": speakers,
        "status": status,
        "dataset_id": ctx.dataset_id,
    }
    return _geo("broadcast_terminal", data, ctx.village_pts)


# --------------------------------------------------------------------------- duty roster


def _landlines(ctx: _Ctx, n: int) -> list[str]:
    """``n`` distinct duty-room numbers such as 0745-5123456."""
    area = AREA_CODE.get(ctx.code[:4], DEFAULT_AREA_CODE)
    local = ctx.rng.choice(1_000_000, size=n, replace=False) + 5_000_000
    return [f"{area}-{x}" for x in local]


def _duty_shifts(ctx: _Ctx, pools: list[_Pool], roster_start: datetime) -> pd.DataFrame:
    """Fourteen 24-hour days per office: a leader, a chief and one or two officers a day.

    Each post draws in turn from its own pool, so nobody holds two posts at once and each
    office has one leader and one chief at any time.
    """
    start = roster_start.astimezone(UTC)
    bounds = [start + timedelta(days=d) for d in range(ROSTER_DAYS + 1)]
    spans = [f"[{a.isoformat()},{b.isoformat()})" for a, b in pairwise(bounds)]
    phones = _landlines(ctx, len(pools))
    extra = ctx.rng.random((len(pools), ROSTER_DAYS)) < 0.5
    rows = []
    for pool, phone, two in zip(pools, phones, extra, strict=True):
        turn = 0
        for d, span in enumerate(spans):
            on = [("leader", pool.leader[d % len(pool.leader)])]
            on.append(("chief", pool.chief[d % len(pool.chief)]))
            for _ in range(2 if two[d] else 1):
                on.append(("officer", pool.officer[turn % len(pool.officer)]))
                turn += 1
            rows += [
                {
                    "org_code": pool.org_code,
                    "post": post,
                    "person_id": pid,
                    "shift": span,
                    "phone": phone,
                    "dataset_id": ctx.dataset_id,
                }
                for post, pid in on
            ]
    return _plain("duty_shift", rows)
