"""Synthetic hydrology for the demo county, consistent with its DEM and river network.

Stations sit where the terrain puts them (river gauges on large channels, reservoirs on small
valleys, rain gauges spread over the county); indicators (警戒/保证水位, 汛限水位, 临界雨量)
are plausible values, not survey results, and the dataset is flagged synthetic.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.geo.demo.boundaries import AdminOutline
from riskmap.geo.demo.names import place_names
from riskmap.geo.demo.partition import sample_points
from riskmap.geo.demo.people import People
from riskmap.geo.terrain.dem import Dem
from riskmap.geo.terrain.flow import Drainage, receivers

CRS = "EPSG:4326"
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# DOMAIN.md's published county example (mm) ⚠: a fallback, configurable per county.
DEFAULT_RAIN_TABLE = {
    "blue": {1: 35, 3: 55, 6: 70, 24: 100},
    "yellow": {1: 45, 3: 75, 6: 95, 24: 130},
    "orange": {1: 60, 3: 100, 6: 120, 24: 160},
    "red": {1: 80, 3: 120, 6: 150, 24: 200},
}


def station_code(county_code: str, kind_digit: int, serial: int) -> str:
    """An 8-character STCD: 6 (Yangtze basin), the county's last 4 digits, kind, 2-char serial."""
    hi, lo = divmod(serial, 36)
    if hi >= 36:
        raise ValueError(f"too many stations of kind {kind_digit} for one county ({serial})")
    return f"6{county_code[2:]}{kind_digit}{_BASE36[hi]}{_BASE36[lo]}"


def cell_of(dem: Dem, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Flat cell index of lon/lat points (clipped to the grid)."""
    rows, cols = dem.shape
    col = np.clip(((x - dem.transform.c) / dem.transform.a).astype(int), 0, cols - 1)
    row = np.clip(((y - dem.transform.f) / dem.transform.e).astype(int), 0, rows - 1)
    return row * cols + col


def cell_centres(dem: Dem, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cols = dem.shape[1]
    t = dem.transform
    return t.c + (idx % cols + 0.5) * t.a, t.f + (idx // cols + 0.5) * t.e


def _spaced_pick(candidates: np.ndarray, xy: np.ndarray, n: int, min_deg: float) -> list[int]:
    """Greedy pick of up to ``n`` candidates (in priority order) at least ``min_deg`` apart."""
    chosen: list[int] = []
    for i in range(len(candidates)):
        if len(chosen) >= n:
            break
        if all(np.hypot(*(xy[i] - xy[j])) >= min_deg for j in chosen):
            chosen.append(i)
    return [int(candidates[i]) for i in chosen]


def name_rivers(rivers: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Give each stream (chained segments of one Strahler order) one name; order 1 stays nameless.

    Segments share their junction point, so a segment continues the one whose last vertex is
    its first vertex and which has the same order.
    """
    out = rivers.reset_index(drop=True).copy()
    coords = shapely.get_coordinates
    first = {tuple(coords(g)[0]): i for i, g in enumerate(out.geometry)}
    parent = list(range(len(out)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, g in enumerate(out.geometry):
        j = first.get(tuple(coords(g)[-1]))
        if j is not None and out.strahler[i] == out.strahler[j]:
            parent[find(i)] = find(j)
    roots = [find(i) for i in range(len(out))]
    named = sorted({r for r, s in zip(roots, out.strahler, strict=True) if s >= 2})
    stems = place_names(rng, len(named))
    top = int(out.strahler.max()) if len(out) else 0
    names = {}
    for r, stem in zip(named, stems, strict=True):
        s = int(out.strahler[r])
        names[r] = stem + ("江" if s == top else "河" if s >= top - 1 else "溪")
    out["name"] = [names.get(r) for r in roots]
    out.insert(0, "id", np.arange(1, len(out) + 1))
    return out


def downstream_path(dem: Dem, recv: np.ndarray, start: int, max_cells: int) -> np.ndarray:
    """Cells from ``start`` down the D8 path (at most ``max_cells``)."""
    path = [start]
    cur = start
    while len(path) < max_cells and recv[cur] >= 0:
        cur = int(recv[cur])
        path.append(cur)
    return np.array(path)


def make_stations(
    county: AdminOutline,
    dem: Dem,
    drain: Drainage,
    villages: gpd.GeoDataFrame,
    *,
    seed: int,
    dataset_id: str,
) -> gpd.GeoDataFrame:
    """Rain gauges (PP) over the county, river gauges (ZQ) on big channels, reservoirs (RR)."""
    rng = np.random.default_rng(seed + 7)
    area_km2 = float(villages.area_km2.sum())
    inside = shapely.contains_xy(county.geometry, *cell_centres(dem, np.arange(dem.elevation.size)))
    up = drain.upstream_area_km2.ravel()
    slope_ok = np.isfinite(drain.filled.ravel())

    n_rain = int(np.clip(area_km2 / 45, 3, 36 * 36 - 1))
    rain_pts = sample_points(county.geometry, n_rain, seed=seed + 11)
    rain_xy = shapely.get_coordinates(rain_pts)

    big = np.flatnonzero(inside & (up >= 100) & slope_ok)
    big = big[np.argsort(-up[big], kind="stable")]
    gauge_cells = _spaced_pick(
        big, np.column_stack(cell_centres(dem, big)), int(np.clip(area_km2 / 250, 2, 60)), 0.07
    )
    small = np.flatnonzero(inside & (up >= 8) & (up <= 120) & slope_ok)
    small = small[rng.permutation(small.size)]
    res_cells = _spaced_pick(
        small, np.column_stack(cell_centres(dem, small)), int(np.clip(area_km2 / 400, 1, 60)), 0.05
    )

    rows = []
    stems = place_names(rng, n_rain + len(gauge_cells) + len(res_cells))
    for k, (x, y) in enumerate(rain_xy):
        rows.append(("PP", k, f"{stems[k]}雨量站", x, y))
    for k, c in enumerate(gauge_cells):
        x, y = cell_centres(dem, np.array([c]))
        rows.append(("ZQ", k, f"{stems[n_rain + k]}水文站", float(x[0]), float(y[0])))
    for k, c in enumerate(res_cells):
        x, y = cell_centres(dem, np.array([c]))
        rows.append(
            ("RR", k, f"{stems[n_rain + len(gauge_cells) + k]}水库", float(x[0]), float(y[0]))
        )
    kind_digit = {"PP": 1, "ZQ": 2, "RR": 3}
    xs = np.array([r[3] for r in rows])
    ys = np.array([r[4] for r in rows])
    elev = drain.filled.ravel()[cell_of(dem, xs, ys)]
    return gpd.GeoDataFrame(
        {
            "stcd": [station_code(county.code, kind_digit[r[0]], r[1]) for r in rows],
            "stnm": [r[2] for r in rows],
            "sttp": [r[0] for r in rows],
            "stlc": f"{county.name}",
            "addvcd": county.code,
            "admauth": [
                f"{county.name}水利局" if r[0] != "ZQ" else "湖南省水文水资源勘测中心" for r in rows
            ],
            "elevation_m": np.round(elev, 1),
            "dataset_id": dataset_id,
        },
        geometry=gpd.GeoSeries(shapely.points(xs, ys), crs=CRS),
    ).rename_geometry("geom")


def river_indicators(stations: gpd.GeoDataFrame, *, seed: int) -> pd.DataFrame:
    """警戒 and 保证水位 for river gauges: bed elevation plus a few metres (85 datum)."""
    rng = np.random.default_rng(seed + 13)
    g = stations[stations.sttp == "ZQ"]
    bed = g.elevation_m.to_numpy()
    wrz = np.round(bed + rng.uniform(5.0, 8.0, len(g)), 2)
    grz = np.round(wrz + rng.uniform(2.0, 3.5, len(g)), 2)
    return pd.DataFrame(
        {
            "stcd": g.stcd.to_numpy(),
            "wrz": wrz,
            "alarm_z": np.round((wrz + grz) / 2, 2),
            "grz": grz,
            "forecast_z": np.round(wrz - 1.5, 2),
            "obhtz": np.round(grz + rng.uniform(-0.8, 0.6, len(g)), 2),
        }
    )


def reservoirs(
    stations: gpd.GeoDataFrame, drain: Drainage, dem: Dem, *, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reservoir characteristics and seasonal flood-limit levels (ST_RSVRFSR_B)."""
    rng = np.random.default_rng(seed + 17)
    r = stations[stations.sttp == "RR"]
    cells = cell_of(dem, r.geometry.x.to_numpy(), r.geometry.y.to_numpy())
    up = drain.upstream_area_km2.ravel()[cells]
    base = r.elevation_m.to_numpy()
    dead = base + rng.uniform(4, 8, len(r))
    normal = dead + rng.uniform(12, 28, len(r))
    design = normal + rng.uniform(1.0, 2.5, len(r))
    check = design + rng.uniform(0.6, 1.5, len(r))
    crest = check + rng.uniform(1.0, 2.0, len(r))
    capacity = np.round(up * rng.uniform(0.08, 0.2, len(r)), 2)
    scale = np.select(
        [capacity >= 100, capacity >= 10, capacity >= 1, capacity >= 0.1],
        ["large_2", "medium", "small_1", "small_2"],
        "small_2",
    )
    res = pd.DataFrame(
        {
            "stcd": r.stcd.to_numpy(),
            "scale": scale,
            "dead_z": dead.round(2),
            "normal_z": normal.round(2),
            "design_flood_z": design.round(2),
            "check_flood_z": check.round(2),
            "dam_crest_z": crest.round(2),
            "total_capacity": np.maximum(capacity, 0.12),
        }
    )
    seasons = [("0401", "0630", 1, 3.0), ("0701", "0831", 2, 1.5), ("0901", "0930", 3, 0.6)]
    limits = pd.DataFrame(
        [
            {
                "stcd": s,
                "bgmd": b,
                "edmd": e,
                "fstp": tp,
                "fsltdz": round(n - drop, 2),
                "fsltdw": round(float(cap) * 0.7, 3),
            }
            for s, n, cap in zip(res.stcd, res.normal_z, res.total_capacity, strict=True)
            for b, e, tp, drop in seasons
        ]
    )
    return res, limits


def station_villages(
    stations: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, dem: Dem, drain: Drainage
) -> pd.DataFrame:
    """Villages each station concerns: down the flood path of gauges and reservoirs (20 km,
    500 m either side), and the Thiessen area of each rain gauge."""
    recv = receivers(drain.flow_dir)
    cell_km = dem.cell_size_deg * 111.0
    out = []
    labels = villages.geometry.representative_point()
    for st in stations[stations.sttp != "PP"].itertuples():
        start = int(cell_of(dem, np.array([st.geom.x]), np.array([st.geom.y]))[0])
        path = downstream_path(dem, recv, start, int(20 / cell_km))
        line = shapely.linestrings(np.column_stack(cell_centres(dem, path)))
        zone = line.buffer(0.005) if len(path) > 1 else st.geom.buffer(0.005)
        hit = villages.sindex.query(zone, predicate="intersects")
        for i in hit:
            d = shapely.distance(st.geom, labels.iloc[i]) * 111.0
            out.append((st.stcd, villages.code.iloc[i], "downstream", round(d, 2)))
    rain = stations[stations.sttp == "PP"]
    if len(rain):
        metric = villages.estimate_utm_crs()  # nearest gauge by metres, not degrees
        joined = gpd.sjoin_nearest(
            gpd.GeoDataFrame({"code": villages.code}, geometry=labels.to_numpy(), crs=CRS).to_crs(
                metric
            ),
            rain[["stcd", "geom"]].set_geometry("geom").to_crs(metric),
            how="left",
            distance_col="dist",
        ).drop_duplicates("code")
        for code, stcd, d in zip(joined.code, joined.stcd, joined.dist, strict=True):
            out.append((stcd, code, "rain_area", round(float(d) / 1000.0, 2)))
    frame = pd.DataFrame(out, columns=["stcd", "village_code", "relation", "distance_km"])
    return frame.drop_duplicates(["stcd", "village_code"])


def flash_flood_thresholds(
    villages: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame, *, seed: int, dataset_id: str
) -> pd.DataFrame:
    """Critical rainfall (准备/立即转移) for 1, 3 and 6 h, for villages on a stream (order ≥ 2)."""
    rng = np.random.default_rng(seed + 19)
    streams = rivers[rivers.strahler >= 2]
    hit = np.unique(villages.sindex.query(streams.geometry.to_numpy(), predicate="intersects")[1])
    at_risk = villages.iloc[hit]
    one_hour = rng.normal(55, 8, len(at_risk)).clip(35, 80)
    rows = []
    for code, h1 in zip(at_risk.code, one_hour, strict=True):
        for dur, factor in ((1, 1.0), (3, 1.55), (6, 1.9)):
            immediate = round(float(h1 * factor))
            rows.append(
                {
                    "village_code": code,
                    "duration_h": dur,
                    "soil_state": "any",
                    "prepare_mm": round(immediate * 0.8),
                    "immediate_mm": immediate,
                    "method": "synthetic (demo): 1 h ~ N(55, 8) mm, scaled by duration",
                    "dataset_id": dataset_id,
                }
            )
    return pd.DataFrame(rows)


def default_rain_table(county_code: str, dataset_id: str) -> pd.DataFrame:
    """The county-wide fallback thresholds (DOMAIN.md's published example ⚠)."""
    return pd.DataFrame(
        [
            {
                "scope_code": county_code,
                "colour": colour,
                "duration_h": dur,
                "rain_mm": mm,
                "dataset_id": dataset_id,
            }
            for colour, by_dur in DEFAULT_RAIN_TABLE.items()
            for dur, mm in by_dur.items()
        ]
    )


def dikes(
    rivers: gpd.GeoDataFrame, seat: shapely.Geometry, *, county_code: str, dataset_id: str
) -> gpd.GeoDataFrame:
    """Left and right dikes along the largest river where it crosses the county seat."""
    through = rivers[rivers.intersects(seat)]
    main = through[through.strahler == through.strahler.max()] if len(through) else through
    reach = shapely.intersection(shapely.union_all(main.geometry.to_numpy()), seat)
    merged = shapely.line_merge(reach) if not reach.is_empty else reach
    parts = [g for g in getattr(merged, "geoms", [merged]) if g.geom_type == "LineString"]
    parts = sorted(parts, key=lambda g: -g.length)[:1]
    rows, geoms = [], []
    river_name = main["name"].dropna().iloc[0] if main["name"].notna().any() else None
    for part in parts:
        for side, offset in (("左", 0.0015), ("右", -0.0015)):
            line = shapely.offset_curve(part, offset)
            # a seat reach of a few metres would make a dike of length 0 (seed 11 at 10k villages)
            if line.geom_type != "LineString" or line.is_empty or line.length * 111.0 < 0.1:
                continue
            rows.append(
                {
                    "id": f"DK{county_code}-{len(rows) + 1:02d}",
                    "name": f"{river_name or '城区'}{side}岸堤防",
                    "rvnm": river_name,
                    "grade": 4,
                    "length_km": round(line.length * 111.0 * 0.9, 2),
                    "dataset_id": dataset_id,
                }
            )
            geoms.append(line)
    return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=CRS)).rename_geometry("geom")


def hydro_duties(
    people: People,
    stations: gpd.GeoDataFrame,
    dike_frame: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    township_names: dict[str, str],
    county: AdminOutline,
) -> None:
    """Every reservoir gets its 三个责任人, every dike a responsible person.

    The administrative responsible person of a small reservoir is a deputy head of its township
    (分管副乡镇长, or 街道办副主任 in a subdistrict): the township's one 乡镇长 is made with the
    township's officials, and a township may have several reservoirs.
    """
    label = villages.geometry.representative_point()
    for st in stations[stations.sttp == "RR"].itertuples():
        v = villages.iloc[int(np.argmin(shapely.distance(label.to_numpy(), st.geom)))]
        sub = v.kind == "community"  # the seat's communities make up a subdistrict (街道)
        town = township_names[v.parent_code]
        admin = people.one(
            org=f"{town}办事处" if sub else f"{town}人民政府",
            title="街道办副主任" if sub else "副乡镇长",
            admin_code=v.parent_code,
        )
        tech = people.one(org=f"{county.name}水利局", title="工程师", admin_code=county.code)
        patrol = people.one(org=v["name"], title="水库巡查员", admin_code=v.code)
        people.duty(admin, "reservoir_administrative", stcd=st.stcd)
        people.duty(tech, "reservoir_technical", stcd=st.stcd)
        people.duty(patrol, "reservoir_patrol", stcd=st.stcd)
    for d in dike_frame.itertuples():
        pid = people.one(org=f"{county.name}水利局", title="堤防责任人", admin_code=county.code)
        people.duty(pid, "dike", dike_id=d.id)
