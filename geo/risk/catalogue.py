"""The rasters the risk maps read, as the raster catalogue (``raster_layer``) knows them.

Finding the DEM, and providing the forest-cover grid (given, or derived from the terrain,
written and catalogued so the maps can say what they stand on), are database and file work the
method itself does not need to see.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import psycopg
import shapely

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.filehash import file_sha256
from riskmap.geo.risk_terrain import TerrainLayers, synthetic_forest, write_fraction_geotiff
from riskmap.geo.terrain.dem import Dem, read_geotiff

SQL = SqlFiles("riskmap.geo.sql")
FOREST_DATASET = "synthetic-forest"


def catalogued_dem(conn: psycopg.Connection, county: str | None = None) -> Path:
    """Path of the DEM catalogued in ``raster_layer``: the county's own when ``county`` is
    given and has one, else the newest dataset's.

    Raises
    ------
    FileNotFoundError
        If no DEM is catalogued (load the demo or ingest a DEM first).
    """
    row = conn.execute(SQL("risk_catalogued_dem.sql"), {"county": county}).fetchone()
    if row is None:
        raise FileNotFoundError("no DEM in raster_layer (kind 'dem'); load the demo first")
    return Path(row[1])


def forest_grid(
    conn: psycopg.Connection,
    dem_path: Path,
    layers: TerrainLayers,
    forest_path: Path | None,
) -> tuple[Dem, Path, bool]:
    """The forest-cover grid: read from ``forest_path``, or derived, written and catalogued."""
    if forest_path is not None:
        return read_geotiff(forest_path), Path(forest_path), False
    dem = layers.dem
    out = dem_path.with_name(f"{dem_path.stem}-forest-synthetic.tif")
    write_fraction_geotiff(
        synthetic_forest(layers),
        dem,
        out,
        method="SYNTHETIC forest fraction = ramp(slope 2-8 deg) x ramp(HAND 3-15 m)",
    )
    conn.execute(
        SQL("risk_upsert_dataset.sql"),
        {
            "id": FOREST_DATASET,
            "title": "合成森林覆盖 / synthetic forest cover (derived from the DEM)",
            "synthetic": True,
            "source": "riskmap geo.risk_terrain.synthetic_forest: forest on slopes above "
            "the valley floors; stands in for a land-cover product",
            "licence": "CC0-1.0",
            "attribution": "Synthetic",
            # shared by every county's forest layer: nothing of one DEM here (each layer's
            # row in raster_layer names its file), so one county's build leaves it unchanged
            "params": json.dumps({"derived_from": "the catalogued DEM of each layer"}),
        },
    )
    t = dem.transform
    conn.execute(
        SQL("risk_upsert_raster_layer.sql"),
        {
            "id": f"forest-synthetic-{hashlib.sha256(str(out).encode()).hexdigest()[:12]}",
            "kind": "forest",
            "path": str(out),
            "crs": dem.crs,
            "width": dem.shape[1],
            "height": dem.shape[0],
            "transform": [t.a, t.b, t.c, t.d, t.e, t.f],
            "units": "fraction",
            "sha256": file_sha256(out),
            "dataset_id": FOREST_DATASET,
            "footprint": shapely.to_wkb(shapely.box(*dem.bounds)),
        },
    )
    return read_geotiff(out), out, True
