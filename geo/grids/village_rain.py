"""Each village's rain of a grid period, written to ``village_rain`` through the zonal weights.

Every village of ``admin_unit`` that a grid's footprint touches gets its area-weighted mean and
max rain and its coverage for each period (weights from :mod:`riskmap.geo.zonal`, built once per
grid definition and villages version, cached by :mod:`riskmap.geo.zonal_cache` under
``<data_dir>/cache/zonal``): one ``village_rain_grid`` row of arrays per period, which the
``village_rain`` view presents as village rows (migration 0022). The caller's transaction holds
it with the grid's catalogue rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import psycopg
import shapely

from riskmap.geo.db.float8_arrays import Float8ArrayDumper
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.grids.model import GridFile, Step
from riskmap.geo.grids.units import to_mm

if TYPE_CHECKING:
    from affine import Affine
    from pyproj import CRS

    from riskmap.geo import zonal

SQL = SqlFiles("riskmap.geo.grids.sql")


def village_rain_for(
    conn: psycopg.Connection,
    grid: GridFile,
    steps: list[Step],
    def_id: str,
    cache_dir: Path,
    ingest_id: int | None,
    event: dict,
) -> int:
    """Per-village mean, max and coverage of each period, written to village_rain.

    A period seen for the first time is one ``village_rain_grid`` row of arrays in the order of
    the weights' villages (a few ms at 25,000 villages); a period stored before goes through the
    per-village rule of ``sql/village_rain.sql`` (migration 0022 explains both).
    """
    weights, origin, version = current_weights(
        conn, def_id, grid.shape, grid.transform, grid.crs, cache_dir
    )
    event["villages"] = len(weights.codes)
    if not len(weights.codes):
        return 0
    event["zonal_weights"] = origin
    set_id = f"{def_id}-{version}"
    written = 0
    partial = 0
    for s in steps:
        values, _ = to_mm(grid.read(s.period.index), s.factor)
        keep, mean_mm, max_mm, cov = period_values(weights, values)
        partial = max(partial, int(((cov < 1 - 1e-9) & keep).sum()))
        if not keep.any():
            continue
        key = {
            "product": s.period.product,
            "valid_start": s.period.valid_start,
            "valid_end": s.period.valid_end,
            "issued_at": s.period.issued_at,
        }
        conn.execute(SQL("period_lock.sql"), key)
        grid_row, village_rows = SQL.one(conn, "period_taken.sql", key, shape="tuple")
        if not (grid_row or village_rows):
            ensure_village_set(conn, set_id, weights.codes)
            with conn.cursor() as cur:
                cur.adapters.register_dumper(np.ndarray, Float8ArrayDumper)
                cur.execute(
                    SQL("village_rain_grid.sql"),
                    {
                        **key,
                        "village_set": set_id,
                        "mean": np.where(keep, mean_mm, np.nan),
                        "max": np.where(keep, max_mm, np.nan),
                        "coverage": np.where(keep, cov, np.nan),
                        "source_ref": s.grid_file_id,
                        "ingest_id": ingest_id,
                    },
                )
            written += int(keep.sum())
            continue
        if grid_row:
            conn.execute(SQL("explode.sql"), key)
        written += conn.execute(
            SQL("village_rain.sql"),
            {
                **key,
                "codes": list(weights.codes[keep]),
                "mean": [float(v) for v in mean_mm[keep]],
                "max": [float(v) for v in max_mm[keep]],
                "coverage": [float(v) for v in cov[keep]],
                "source_ref": s.grid_file_id,
                "ingest_id": ingest_id,
            },
        ).rowcount
    event["villages_partly_covered"] = partial
    return written


def current_weights(
    conn: psycopg.Connection,
    def_id: str,
    shape: tuple[int, int],
    transform: Affine,
    crs: CRS | str,
    cache_dir: Path | None,
) -> tuple[zonal.ZonalWeights, str, str]:
    """The zonal weights of the villages as they are now on a grid definition: the weights,
    where they came from ('memory', 'disk', 'built') and the villages' version."""
    from riskmap.geo import zonal, zonal_cache

    (version,) = SQL.one(conn, "village_version.sql", shape="tuple")

    def build() -> zonal.ZonalWeights:
        rows = SQL.rows(conn, "village_geoms.sql", {"grid": def_id}, shape="tuple")
        geoms = shapely.from_wkb([r[1] for r in rows])
        return zonal.ZonalWeights.build(geoms, [r[0] for r in rows], shape, transform, crs)

    weights, origin = zonal_cache.weights_for(def_id, version, cache_dir, build)
    return weights, origin, version


def period_values(
    weights: zonal.ZonalWeights, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each village's (kept, mean mm, max mm, coverage) of one period's grid in mm: kept where
    valid cells cover some of it. One function for ingests and reloads, so both give the same
    numbers."""
    got = weights.stats(values)  # one pass over the weights
    cov, mean, mx = got.coverage, got.mean, got.max
    keep = (cov > 0) & ~np.isnan(mean)
    mean_mm = np.where(0.0 > mean, 0.0, mean)  # max(v, 0.0) as Python's max does it
    top = np.fmax(mx, mean)
    max_mm = np.where(0.0 > top, 0.0, top)
    return keep, mean_mm, max_mm, cov


def ensure_village_set(conn: psycopg.Connection, set_id: str, codes: np.ndarray) -> None:
    """Store the weights' village order once (checked first: 25,000 codes cost ~10 ms to send)."""
    if not SQL.one(conn, "village_set_exists.sql", {"id": set_id}, shape="tuple")[0]:
        params = {"id": set_id, "codes": [str(c) for c in codes]}
        conn.execute(SQL("village_set.sql"), params)
