"""What every demo resource table builder shares: the inputs, the table columns, ids, places.

The resource tables (facilities, reserve, shelters, teams, vehicles, terminals, roster) are built
by one module each; they all draw from one seeded generator held in :class:`Ctx`, place points
with :func:`points_in` and shape frames to the database columns in :data:`COLUMNS`, so those
live here once.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.geo.demo.boundaries import AdminOutline
from riskmap.geo.demo.people import People

CRS = "EPSG:4326"

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


@dataclass
class Ctx:
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


def make_context(
    county: AdminOutline,
    townships: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    people: People,
    *,
    seed: int,
    dataset_id: str,
) -> Ctx:
    """Normalise the inputs and place the township compounds and village committees."""
    towns = townships.reset_index(drop=True).copy()
    vill = villages.reset_index(drop=True)
    pop = vill.groupby("parent_code")["population"].sum()
    towns["population"] = towns["code"].map(pop).fillna(0).astype(np.int64)
    seats = np.flatnonzero(towns["is_seat"].to_numpy(dtype=bool))
    if seats.size != 1:
        raise ValueError(f"expected exactly one seat township, got {seats.size}")
    rng = np.random.default_rng(seed)
    town_pts = points_in(towns.geometry.to_numpy(), np.ones(len(towns), dtype=np.int64), rng)
    village_pts = points_in(vill.geometry.to_numpy(), np.ones(len(vill), dtype=np.int64), rng)
    return Ctx(county, towns, vill, people, rng, dataset_id, int(seats[0]), town_pts, village_pts)


def points_in(units: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


def serial_ids(prefix: str, county_code: str, n: int) -> list[str]:
    """Stable serial ids such as ``WH431226-001`` (at least three digits)."""
    width = max(3, len(str(n)))
    return [f"{prefix}{county_code}-{i:0{width}d}" for i in range(1, n + 1)]


def geo_frame(table: str, data: dict, geom: np.ndarray) -> gpd.GeoDataFrame:
    """A GeoDataFrame with the table's columns in order and ``geom`` as its geometry."""
    frame = gpd.GeoDataFrame(
        {**data, "geom": gpd.GeoSeries(geom, crs=CRS)}, geometry="geom", crs=CRS
    )
    return frame[COLUMNS[table]]


def plain_frame(table: str, rows: dict | list[dict]) -> pd.DataFrame:
    """A DataFrame with the table's columns in order (also when empty)."""
    return pd.DataFrame(rows, columns=COLUMNS[table])


def town_org(name: str, kind: str) -> str:
    return f"{name}办事处" if kind == "subdistrict" else f"{name}人民政府"


def village_org(name: str, kind: str) -> str:
    return f"{name}居民委员会" if kind == "community" else f"{name}村民委员会"


def bureau(county: AdminOutline) -> str:
    return f"{county.name}应急管理局"
