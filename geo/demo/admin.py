"""Synthetic townships and villages inside a real county outline.

The demo has real county outlines but no licensed township or village boundaries; these are
invented (partitioned outlines, plausible names, codes and populations) and flagged synthetic.
Codes follow the statistics bureau's layout: township digits 001–099 for subdistricts (街道),
100–199 towns (镇), 200–399 townships (乡); village digits 001–199 communities (社区 居委会),
200–399 villages (村委会), so a 12-digit code says what the unit is.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from riskmap.geo.demo.boundaries import AdminOutline
from riskmap.geo.demo.names import place_names, township_name
from riskmap.geo.demo.partition import allocate, partition

CRS = "EPSG:4326"
# Mean village population (people) and people per household in rural Hunan (≈ 2020 census ⚠).
MEAN_VILLAGE_POPULATION = 1_800
PEOPLE_PER_HOUSEHOLD = 3.1
# Villages per township in the demo (Mayang: 222 villages in 18 townships).
VILLAGES_PER_TOWNSHIP = 12.3
MAX_TOWNSHIPS = 300


def _equal_area_km2(geoms: np.ndarray) -> np.ndarray:
    """Areas in km² (CGCS2000/Albers would do as well; EPSG:6933 is a global equal-area)."""
    return gpd.GeoSeries(geoms, crs=CRS).to_crs("EPSG:6933").area.to_numpy() / 1e6


def township_count(n_villages: int) -> int:
    """How many townships a county with ``n_villages`` has (at least 3, at most 300)."""
    return int(min(MAX_TOWNSHIPS, max(3, round(n_villages / VILLAGES_PER_TOWNSHIP)), n_villages))


def _township_digits(n: int, seat: int) -> list[str]:
    """Township code digits: the seat is a subdistrict (001), then towns, then townships."""
    out, town, xiang = [], 101, 201
    for i in range(n):
        if i == seat:
            out.append("001")
        elif i % 3 != 2 and town <= 199:
            out.append(f"{town:03d}")
            town += 1
        else:
            out.append(f"{xiang:03d}")
            xiang += 1
    return out


def make_townships(
    county: AdminOutline, n_villages: int, *, seed: int, dataset_id: str
) -> gpd.GeoDataFrame:
    """Townships tiling the county; the one nearest the county's centre is the seat (城关).

    Returns a frame with the ``admin_unit`` columns (code, level, parent_code, name, kind, …)
    plus ``n_villages`` (how many villages each will hold, shared by area) and ``is_seat``.
    """
    rng = np.random.default_rng(seed)
    n = township_count(n_villages)
    cells = np.array(partition(county.geometry, n, seed=seed, relax=3), dtype=object)
    centre = county.geometry.representative_point()
    seat = int(np.argmin(shapely.distance(shapely.centroid(cells), centre)))
    digits = _township_digits(n, seat)
    stems = place_names(rng, n)
    names, kinds = [], []
    for d, stem in zip(digits, stems, strict=True):
        if d == "001":
            names.append(f"{stem}街道")
            kinds.append("subdistrict")
        else:
            name = township_name(stem, rng) if int(d) < 200 else f"{stem}乡"
            names.append(name if int(d) >= 200 or name.endswith("镇") else f"{stem}镇")
            kinds.append("town" if int(d) < 200 else "township")
    areas = _equal_area_km2(cells)
    shares = allocate(n_villages, areas)
    frame = gpd.GeoDataFrame(
        {
            "code": [county.code + d for d in digits],
            "level": "township",
            "parent_code": county.code,
            "name": names,
            "kind": kinds,
            "gb2260": county.code,
            "area_km2": areas,
            "n_villages": shares,
            "is_seat": [i == seat for i in range(n)],
            "dataset_id": dataset_id,
        },
        geometry=[shapely.MultiPolygon([c]) if c.geom_type == "Polygon" else c for c in cells],
        crs=CRS,
    )
    return frame


def make_villages(townships: gpd.GeoDataFrame, *, seed: int, dataset_id: str) -> gpd.GeoDataFrame:
    """Villages tiling each township, with names, 12-digit codes, population and households.

    Villages in the seat are urban communities (社区, class 111) with larger populations;
    elsewhere villages (村, class 220) with a lognormal population around 1,800 people.
    """
    rng = np.random.default_rng(seed + 1)
    taken: set[str] = set()
    parts: list[gpd.GeoDataFrame] = []
    for i, town in enumerate(townships.itertuples(index=False)):
        k = int(town.n_villages)
        cells = partition(town.geometry, k, seed=seed + 1000 + i, relax=2)
        stems = place_names(rng, k, taken=taken)
        urban = bool(town.is_seat)
        if urban:
            digits = [f"{j + 1:03d}" for j in range(k)]
            names = [f"{s}社区" for s in stems]
        else:
            digits = [f"{200 + j:03d}" if j < 200 else f"{400 + j:03d}" for j in range(k)]
            names = [f"{s}村" for s in stems]
        mean = MEAN_VILLAGE_POPULATION * (2.5 if urban else 1.0)
        population = np.maximum(
            120, rng.lognormal(np.log(mean) - 0.125, 0.5, size=k).round()
        ).astype(int)
        households = np.maximum(
            1, (population / rng.normal(PEOPLE_PER_HOUSEHOLD, 0.25, size=k)).round()
        ).astype(int)
        households = np.minimum(households, population)
        schools = (rng.random(k) < np.clip(population / 4000, 0.15, 0.95)).astype(int)
        clinics = (rng.random(k) < (0.95 if urban else 0.8)).astype(int)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "code": [town.code + d for d in digits],
                    "level": "village",
                    "parent_code": town.code,
                    "name": names,
                    "kind": "community" if urban else "village",
                    "urban_rural": "111" if urban else "220",
                    "gb2260": town.gb2260,
                    "population": population,
                    "households": households,
                    "schools": schools,
                    "clinics": clinics,
                    "dataset_id": dataset_id,
                },
                geometry=[
                    shapely.MultiPolygon([c]) if c.geom_type == "Polygon" else c for c in cells
                ],
                crs=CRS,
            )
        )
    villages = gpd.GeoDataFrame(
        gpd.pd.concat(parts, ignore_index=True), geometry="geometry", crs=CRS
    )
    villages["area_km2"] = _equal_area_km2(villages.geometry.to_numpy())
    return villages


def roll_up(townships: gpd.GeoDataFrame, villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Township population and households as the sums of their villages (counts add up)."""
    sums = villages.groupby("parent_code")[["population", "households"]].sum()
    out = townships.copy()
    out["population"] = out["code"].map(sums["population"]).astype(int)
    out["households"] = out["code"].map(sums["households"]).astype(int)
    return out
