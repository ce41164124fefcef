"""Where annual maxima come from and go: village outlines from ``admin_unit``, rows to
``village_rain_annual_max`` (one transaction per source label), GeoParquet for planners."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import shapely
from affine import Affine
from pyproj import CRS

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.grids.model import footprint
from riskmap.geo.zonal import ZonalWeights, grid_definition_id

SQL = SqlFiles("riskmap.geo.archive.sql")
GRIDS_SQL = SqlFiles("riskmap.geo.grids.sql")


def villages_on_grid(
    conn: psycopg.Connection, crs: CRS, transform: Affine, shape: tuple[int, int]
) -> tuple[list[str], np.ndarray]:
    """(codes, WGS 84 outlines) of the villages the grid's extent touches."""
    fp = footprint(crs, transform, shape)
    rows = SQL.rows(conn, "villages.sql", {"footprint": shapely.to_wkb(fp)}, shape="tuple")
    return [r[0] for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows])


def weights_on_grid(
    conn: psycopg.Connection,
    crs: CRS,
    transform: Affine,
    shape: tuple[int, int],
    cache_dir: Path | None,
) -> tuple[ZonalWeights, np.ndarray]:
    """The cached zonal weights of today's villages on the grid, and the villages' outlines
    (row order of the weights)."""
    from riskmap.geo import zonal_cache

    (version,) = GRIDS_SQL.one(conn, "village_version.sql", shape="tuple")
    codes, geoms = villages_on_grid(conn, crs, transform, shape)
    # the cache key names the archive's villages (those on its footprint), as the feeds' do
    def_id = grid_definition_id(crs, transform, shape)

    def build() -> ZonalWeights:
        return ZonalWeights.build(geoms, codes, shape, transform, crs)

    weights, _ = zonal_cache.weights_for(f"archive-{def_id}", version, cache_dir, build)
    by_code = dict(zip(codes, geoms, strict=True))
    return weights, np.array([by_code.get(str(c)) for c in weights.codes], dtype=object)


def replace_source(conn: psycopg.Connection, source: str, frame: pd.DataFrame) -> int:
    """Replace the source's rows with ``frame``'s in one transaction; the row count."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(SQL("delete_source.sql"), {"source": source})
        with cur.copy(SQL("copy_rows.sql")) as copy:
            for r in frame.itertuples(index=False):
                copy.write_row(
                    (
                        source,
                        r.village_code,
                        int(r.duration_h),
                        int(r.year),
                        float(r.max_mm),
                        r.ends_at.to_pydatetime(),
                        int(r.hours),
                        bool(r.complete),
                    )
                )
    return len(frame)


def write_geoparquet(
    frame: pd.DataFrame, codes: np.ndarray, geoms: np.ndarray, source: str, path: Path
) -> Path:
    """The maxima as GeoParquet (EPSG:4326): village outline, source, duration, year, max…"""
    import geopandas as gpd

    by_code = dict(zip(map(str, codes), geoms, strict=True))
    gdf = gpd.GeoDataFrame(
        frame.assign(source=source),
        geometry=[by_code[c] for c in frame["village_code"]],
        crs="EPSG:4326",
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_parquet(path)
    return path
