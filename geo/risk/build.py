"""Building the risk maps: read the rasters and villages, score them, replace their rows.

The one place that runs the whole method end to end in a transaction and times each step; the
pieces it calls (:mod:`.catalogue`, :mod:`.indicators`, :mod:`.scoring`, :mod:`.rows`) each do
one part and can be used or tested alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import shapely

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.filehash import file_sha256
from riskmap.geo.risk.catalogue import forest_grid
from riskmap.geo.risk.indicators import LOW_GROUND_M, village_indicators, zonal_weights
from riskmap.geo.risk.rows import replace_rows, village_risk_rows
from riskmap.geo.risk.scoring import exposure
from riskmap.geo.risk_terrain import CHANNEL_AREA_KM2, terrain_layers
from riskmap.geo.terrain.dem import read_geotiff

SQL = SqlFiles("riskmap.geo.sql")


@dataclass
class RiskResult:
    """What :func:`build_risk` did.

    Attributes
    ----------
    rows : rows written to ``village_risk`` (villages × hazards).
    villages : villages given a risk level.
    skipped : villages left out because the DEM covers none of their area.
    partial : villages only partly covered by the DEM (their figures use the covered part).
    forest_path : the forest-cover raster used; ``forest_synthetic`` says whether it was
        derived from the DEM (the demo has no land-cover layer).
    levels : count of villages per hazard and risk level.
    seconds : wall time per step and in total.
    """

    rows: int
    villages: int
    skipped: list[str]
    partial: list[str]
    forest_path: Path
    forest_synthetic: bool
    levels: dict[str, dict[int, int]]
    seconds: dict[str, float] = field(default_factory=dict)


def build_risk(
    conn: psycopg.Connection,
    dem_path: str | Path,
    *,
    forest_path: str | Path | None = None,
    county: str | None = None,
    counties: Sequence[str] | None = None,
    cache_dir: Path | None = None,
) -> RiskResult:
    """Compute and store the risk map of every village (of ``county``, or all) and hazard.

    Only the villages the DEM covers get new rows; the others keep what they had (they are
    reported as ``skipped``), so a DEM given for one county never deletes another's maps.

    Parameters
    ----------
    conn : connection; the rows are replaced in one transaction.
    dem_path : a north-up lon/lat GeoTIFF DEM (the demo's is catalogued in ``raster_layer``,
        see :func:`~.catalogue.catalogued_dem`).
    forest_path : forest-cover fraction (0–1) GeoTIFF in any grid. When None, a synthetic one
        is derived from the DEM, written next to it as ``<dem>-forest-synthetic.tif`` and
        catalogued in ``raster_layer`` (kind ``forest``, dataset ``synthetic-forest``).
    county : six-digit GB/T 2260 code to limit the villages; None for all.
    counties : several such codes (with ``county`` too: both are mapped). To map each county
        on its own terrain, see :func:`~.counties.build_counties`.
    cache_dir : where zonal weights are cached on disk (memory cache only when None).

    Returns
    -------
    RiskResult
        Counts, villages skipped or partly covered, and timings.
    """
    codes_in = _county_codes(county, counties)
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    dem_path = Path(dem_path).resolve()
    dem = read_geotiff(dem_path)
    layers = terrain_layers(dem)
    seconds["terrain"] = time.perf_counter() - t0

    with conn.transaction():
        t = time.perf_counter()
        forest, forest_file, synthetic = forest_grid(
            conn, dem_path, layers, Path(forest_path).resolve() if forest_path else None
        )
        seconds["forest"] = time.perf_counter() - t
        t = time.perf_counter()
        where = {"counties": codes_in}
        rows = conn.execute(SQL("risk_villages.sql"), where).fetchall()
        versions = conn.execute(SQL("risk_dataset_versions.sql"), where).fetchall()
        seconds["vector_sql"] = time.perf_counter() - t
        if not rows:
            raise ValueError(
                "no villages to map" + (f" in county {', '.join(codes_in)}" if codes_in else "")
            )
        codes = [r[0] for r in rows]
        geoms = list(shapely.from_wkb([bytes(r[1]) for r in rows]))

        t = time.perf_counter()
        w_dem = zonal_weights(dem, geoms, codes, cache_dir)
        same_grid = forest.shape == dem.shape and tuple(forest.transform) == tuple(dem.transform)
        w_forest = w_dem if same_grid else zonal_weights(forest, geoms, codes, cache_dir)
        seconds["weights"] = time.perf_counter() - t

        t = time.perf_counter()
        pop = np.array([r[2] for r in rows], dtype=np.float64)
        indicators = village_indicators(rows, layers, forest, w_dem, w_forest)
        coverage = w_dem.coverage(np.isfinite(dem.elevation))
        keep = coverage > 0
        expo = exposure(pop, [r[4] for r in rows], [r[5] for r in rows])
        inputs = {
            "dem": {"path": str(dem_path), "sha256": file_sha256(dem_path)},
            "forest": {
                "path": str(forest_file),
                "sha256": file_sha256(forest_file),
                "synthetic": synthetic,
            },
            "datasets": {d: at.isoformat() for d, at in versions},
            "channel_area_km2": CHANNEL_AREA_KM2,
            "low_ground_m": LOW_GROUND_M,
        }
        records, levels = village_risk_rows(rows, indicators, expo, coverage, keep, inputs)
        seconds["statistics"] = time.perf_counter() - t

        t = time.perf_counter()
        replace_rows(conn, [c for c, k in zip(codes, keep, strict=True) if k], records)
        seconds["write"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    return RiskResult(
        rows=len(records),
        villages=int(keep.sum()),
        skipped=[c for c, k in zip(codes, keep, strict=True) if not k],
        partial=[c for c, cov in zip(codes, coverage, strict=True) if 0 < cov < 1 - 1e-9],
        forest_path=forest_file,
        forest_synthetic=synthetic,
        levels=levels,
        seconds=seconds,
    )


def _county_codes(county: str | None, counties: Sequence[str] | None) -> list[str] | None:
    """The six-digit county codes to map (None: every village), validated."""
    codes = [*([county] if county is not None else []), *(counties or [])]
    for code in codes:
        if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
            raise ValueError(f"county must be a six-digit GB/T 2260 code, got {code!r}")
    if county is None and counties is None:
        return None
    return sorted(set(codes))
