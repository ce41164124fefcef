"""Synthetic geohazard points (隐患点), hazardous sites and their sensors for the demo county.

Hazard points go where the synthetic terrain is steep; a tailings dam sits in a small valley
above a village, which is the cascade the rules must catch.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.geo.demo.boundaries import AdminOutline
from riskmap.geo.demo.hydro import cell_centres, downstream_path
from riskmap.geo.demo.names import place_names
from riskmap.geo.demo.partition import sample_points
from riskmap.geo.demo.people import People
from riskmap.geo.terrain.dem import Dem, slope_degrees
from riskmap.geo.terrain.flow import Drainage, receivers

CRS = "EPSG:4326"
_SIGNALS = ["鸣锣", "口哨", "手摇报警器", "高音喇叭", "电话通知"]
_CN_NUMBERS = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]


def scale_of(people_count: np.ndarray) -> np.ndarray:
    """Scale by threatened people (DOMAIN.md ⚠): <100 small … ≥1000 very large."""
    return np.select(
        [people_count >= 1000, people_count >= 500, people_count >= 100],
        ["very_large", "large", "medium"],
        "small",
    )


def responsible_title(nth: int) -> str:
    """The responsible person of a village's ``nth`` hazard point (1-based).

    A village has one 村主任: he answers for its first hazard point; each further point is the
    charge of the leader of the village group (村民小组长) whose houses it threatens, as county
    hazard-point registers often name them. One person per post, and the same draws as before.
    """
    return "村主任" if nth == 1 else "村民小组长"


def responsible_org(village_name: str, nth: int) -> str:
    """The village for its 村主任, 石溪村第一村民小组 … for the group leaders (one group each)."""
    if nth == 1:
        return village_name
    group = nth - 1
    label = _CN_NUMBERS[group] if group < len(_CN_NUMBERS) else str(group)
    return f"{village_name}第{label}村民小组"


def _village_at(villages: gpd.GeoDataFrame, pts: np.ndarray) -> np.ndarray:
    """Row of the village containing each point (nearest when on a boundary)."""
    idx = villages.sindex.query(pts, predicate="within")
    row = np.full(len(pts), -1)
    row[idx[0]] = idx[1]
    missing = np.flatnonzero(row < 0)
    if missing.size:
        near = villages.sindex.nearest(pts[missing], return_all=False)
        row[missing[near[0]]] = near[1]
    return row


def make_hazard_points(
    county: AdminOutline,
    dem: Dem,
    drain: Drainage,
    villages: gpd.GeoDataFrame,
    people: People,
    *,
    seed: int,
    dataset_id: str,
) -> gpd.GeoDataFrame:
    """About one hazard point per 8 km², on slopes over 20°, each with its monitor (群测群防员)."""
    rng = np.random.default_rng(seed + 23)
    slope = slope_degrees(dem).ravel()
    xs, ys = cell_centres(dem, np.arange(slope.size))
    inside = shapely.contains_xy(county.geometry, xs, ys)
    steep = np.flatnonzero(inside & (slope > 20) & np.isfinite(slope))
    n = int(np.clip(villages.area_km2.sum() / 8, 5, 100_000))
    if steep.size < n:  # gentle county: take the steepest cells available
        steep = np.flatnonzero(inside & np.isfinite(slope))
        steep = steep[np.argsort(-slope[steep])][: max(n * 3, n)]
    weights = slope[steep] / slope[steep].sum()
    pick = rng.choice(steep, size=min(n, steep.size), replace=False, p=weights)
    x = xs[pick] + rng.uniform(-0.4, 0.4, pick.size) * dem.cell_size_deg
    y = ys[pick] + rng.uniform(-0.4, 0.4, pick.size) * dem.cell_size_deg
    pts = shapely.points(x, y)
    up = drain.upstream_area_km2.ravel()[pick]
    s = slope[pick]
    kind = np.select(
        [(up >= 0.2) & (up <= 10), s > 30, rng.random(pick.size) < 0.12],
        ["debris_flow", "collapse", "unstable_slope"],
        "landslide",
    )
    threatened = np.maximum(3, rng.lognormal(np.log(40), 1.0, pick.size).round()).astype(int)
    households = np.maximum(1, (threatened / 3.3).round()).astype(int)
    rows = _village_at(villages, pts)
    vcodes = villages.code.to_numpy()[rows]
    vnames = villages.name.to_numpy()[rows]
    stems = place_names(rng, pick.size)
    zh = {
        "landslide": "滑坡",
        "collapse": "崩塌",
        "debris_flow": "泥石流",
        "unstable_slope": "不稳定斜坡",
    }
    ids, monitors, responsibles = [], [], []
    groups: dict[str, int] = {}  # hazard points so far per village
    for k in range(pick.size):
        hid = f"{county.code}{k + 1:06d}"
        ids.append(hid)
        m = people.one(org=vnames[k], title="群测群防员", admin_code=vcodes[k])
        nth = groups[vcodes[k]] = groups.get(vcodes[k], 0) + 1
        r = people.one(
            org=responsible_org(vnames[k], nth), title=responsible_title(nth), admin_code=vcodes[k]
        )
        people.duty(m, "hazard_monitor", hazard_point_id=hid)
        people.duty(r, "hazard_responsible", hazard_point_id=hid)
        monitors.append(m)
        responsibles.append(r)
    frame = gpd.GeoDataFrame(
        {
            "id": ids,
            "name": [f"{vn}{st}{zh[k]}" for vn, st, k in zip(vnames, stems, kind, strict=True)],
            "kind": kind,
            "scale": scale_of(threatened),
            "village_code": vcodes,
            "threatened_people": threatened,
            "threatened_households": np.minimum(households, threatened),
            "threatened_property": np.round(threatened * rng.uniform(3, 12, pick.size), 1),
            "monitor_id": monitors,
            "responsible_id": responsibles,
            "warning_signal": [_SIGNALS[i] for i in rng.integers(len(_SIGNALS), size=pick.size)],
            "evacuation_route": [f"沿村道撤离至{vn}村委会或就近避灾点" for vn in vnames],
            "slope_deg": np.round(s, 1),
            "dataset_id": dataset_id,
        },
        geometry=gpd.GeoSeries(pts, crs=CRS),
    )
    return frame.rename_geometry("geom")


def make_sites(
    county: AdminOutline,
    dem: Dem,
    drain: Drainage,
    townships: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    people: People,
    *,
    seed: int,
    dataset_id: str,
) -> gpd.GeoDataFrame:
    """A chemical plant, a fireworks warehouse and shops, an open-pit slope, and a tailings dam
    in a small valley draining into a village within 3 km."""
    rng = np.random.default_rng(seed + 29)
    seat = townships[townships.is_seat].iloc[0]
    seat_pts = sample_points(seat.geometry, 4, seed=seed + 31)
    rural = townships[~townships.is_seat]
    rural_pts = [
        sample_points(rural.geometry.iloc[i], 1, seed=seed + 37 + i)[0]
        for i in rng.choice(len(rural), size=min(2, len(rural)), replace=False)
    ]
    specs = [
        (
            "chemical_plant",
            f"{county.name}化工有限公司",
            seat_pts[0],
            {"chemicals": ["液氯", "硫酸"], "major_hazard_source": "三级"},
        ),
        (
            "fireworks_warehouse",
            f"{county.name}烟花爆竹批发仓库",
            rural_pts[0],
            {"net_explosive_t": 12.5, "hazard_division": "1.3"},
        ),
        ("fireworks_shop", f"{seat['name']}烟花爆竹零售点", seat_pts[1], {"net_explosive_kg": 800}),
        ("fireworks_shop", f"{seat['name']}鞭炮经营部", seat_pts[2], {"net_explosive_kg": 500}),
        (
            "open_pit_slope",
            f"{county.name}石灰石矿采场边坡",
            rural_pts[-1],
            {"bench_height_m": 15, "slope_height_m": 85},
        ),
    ]
    dam_pt, below = _tailings_dam_location(county, dem, drain, villages, rng)
    specs.append(
        (
            "tailings_dam",
            f"{county.name}锰矿尾矿库",
            dam_pt,
            {"dam_height_m": 32, "capacity_1e4m3": 85, "grade": "四等", "village_below": below},
        )
    )
    rows, geoms = [], []
    for k, (kind, name, pt, details) in enumerate(specs):
        sid = f"HS{county.code}-{k + 1:02d}"
        admin = villages.code.iloc[_village_at(villages, np.array([pt]))[0]]
        contact = people.one(org=name, title="安全负责人", admin_code=admin)
        people.duty(contact, "site_safety", site_id=sid)
        rows.append(
            {
                "id": sid,
                "name": name,
                "kind": kind,
                "operator": name,
                "admin_code": admin,
                "safety_contact_id": contact,
                "details": details,
                "dataset_id": dataset_id,
            }
        )
        geoms.append(pt)
    return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=CRS)).rename_geometry("geom")


def _tailings_dam_location(
    county: AdminOutline,
    dem: Dem,
    drain: Drainage,
    villages: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> tuple[shapely.Point, str]:
    """A cell with 1–5 km² upstream whose flow path reaches another village within 3 km."""
    up = drain.upstream_area_km2.ravel()
    xs, ys = cell_centres(dem, np.arange(up.size))
    cand = np.flatnonzero((up >= 1) & (up <= 5) & shapely.contains_xy(county.geometry, xs, ys))
    recv = receivers(drain.flow_dir)
    steps = max(2, int(3 / (dem.cell_size_deg * 111)))
    for c in cand[rng.permutation(cand.size)][:500]:
        path = downstream_path(dem, recv, int(c), steps)
        here = _village_at(villages, shapely.points(xs[path[:1]], ys[path[:1]]))[0]
        along = _village_at(villages, shapely.points(xs[path], ys[path]))
        others = along[along != here]
        if others.size:
            return shapely.Point(xs[c], ys[c]), str(villages.code.iloc[others[0]])
    c = int(cand[0]) if cand.size else int(np.argmax(up))
    return shapely.Point(xs[c], ys[c]), str(villages.code.iloc[0])


def make_sensors(
    hazard_points: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, seed: int, dataset_id: str
) -> gpd.GeoDataFrame:
    """GNSS and crack meters on medium-and-larger hazard points; dam and slope monitoring."""
    rng = np.random.default_rng(seed + 41)
    rows, geoms = [], []

    def add(kind: str, unit: str, alarm: float, geom: shapely.Point, **target: str) -> None:
        sid = f"SN{len(rows) + 1:06d}-{next(iter(target.values()))}"
        rows.append(
            {
                "id": sid,
                "kind": kind,
                "unit": unit,
                "site_id": None,
                "hazard_point_id": None,
                "alarm_value": alarm,
                "alarm_when": "above",
                "dataset_id": dataset_id,
                **target,
            }
        )
        geoms.append(geom)

    watched = hazard_points[hazard_points["scale"] != "small"]
    for hp in watched.itertuples():
        add("gnss_displacement", "mm/d", 5.0, hp.geom, hazard_point_id=hp.id)
        if rng.random() < 0.5:
            add("crack_meter", "mm", 20.0, hp.geom, hazard_point_id=hp.id)
        if rng.random() < 0.3:
            add("rain_gauge", "mm/h", 30.0, hp.geom, hazard_point_id=hp.id)
    for site in sites.itertuples():
        if site.kind == "tailings_dam":
            add("phreatic_line", "m", -6.0, site.geom, site_id=site.id)  # depth below crest
            rows[-1]["alarm_when"] = "above"
            add("gnss_displacement", "mm/d", 3.0, site.geom, site_id=site.id)
            add("water_level", "m", 1.5, site.geom, site_id=site.id)  # freeboard
            rows[-1]["alarm_when"] = "below"
        elif site.kind == "open_pit_slope":
            add("inclinometer", "mm/d", 4.0, site.geom, site_id=site.id)
        elif site.kind == "chemical_plant":
            add("gas", "ppm", 1.0, site.geom, site_id=site.id)
    return gpd.GeoDataFrame(
        pd.DataFrame(rows), geometry=gpd.GeoSeries(geoms, crs=CRS)
    ).rename_geometry("geom")


__all__ = ["make_hazard_points", "make_sensors", "make_sites", "scale_of"]
