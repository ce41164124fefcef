"""Village risk maps: susceptibility × exposure → a risk level per village and hazard.

For every village and each hazard of :data:`HAZARDS` the method (version
:data:`METHOD_VERSION`) computes

* **indicators** from the DEM and vector layers, area-weighted per village with the sparse
  zonal weights of :mod:`geo.zonal` (built once for the DEM grid):

  ============ =================================================================================
  flash_flood  ``hand_m_p10``: 10th percentile of height above nearest drainage (m) over the
               village area (the low-lying part where people live); ``low_ground_share``: share
               of the area within 5 m of its drainage; ``river_km``: distance from the village's
               label point to the nearest river (table ``river``). River floods are included:
               HAND measures height above any channel, large or small.
  geohazard    ``slope_mean`` (degrees) and ``hazard_points_per_km2`` (table ``hazard_point``)
  forest_fire  ``forest_fraction`` (mean forest cover, 0–1) and ``slope_mean``
  ============ =================================================================================

* a **susceptibility class** 1–4: each indicator gets a class from fixed breaks
  (:data:`BREAKS`); the hazard's class is the weighted mean of its indicators' classes
  (:data:`WEIGHTS`), rounded half up.
* an **exposure class** 1–4 from the population (:data:`POPULATION_BREAKS`), raised by one
  (at most 4) where the village has two or more schools or clinics (:data:`GATHERING_PLACES`).
* the **risk level** 1 (low) … 4 (very high) from :data:`RISK_MATRIX`.

Everything is a pure function of the inputs (rasters, village and layer rows), so recomputing
with the same inputs gives the same rows; ``inputs`` stores the raster paths with their sha256
and the versions of the datasets read.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import psycopg
import shapely
from scipy import sparse

from riskmap.geo import zonal
from riskmap.geo.db.copy import copy_statement
from riskmap.geo.db.sqlfiles import load_sql
from riskmap.geo.demo.terrain import Dem, read_geotiff
from riskmap.geo.risk_terrain import (
    CHANNEL_AREA_KM2,
    TerrainLayers,
    synthetic_forest,
    terrain_layers,
    write_fraction_geotiff,
)

Hazard = Literal["flash_flood", "geohazard", "forest_fire"]
HAZARDS: tuple[Hazard, ...] = ("flash_flood", "geohazard", "forest_fire")
METHOD_VERSION = "1"
LOW_GROUND_M = 5.0  # HAND below which ground counts as low-lying

#: Class breaks per indicator: class = 1 + number of breaks passed. ``ascending`` indicators
#: are more dangerous when larger; the others when smaller. The breaks suit village means of a
#: ~90 m DEM in the hills of western Hunan (slopes of 90 m cells are gentler than on the
#: ground) ⚠: change them with the method version when a finer DEM is used.
BREAKS: dict[str, tuple[tuple[float, float, float], bool]] = {
    "hand_m_p10": ((0.5, 3.0, 10.0), False),  # ≤ 0.5 m → 4, ≤ 3 → 3, ≤ 10 → 2, else 1
    "low_ground_share": ((0.10, 0.25, 0.50), True),  # > 0.5 → 4 …
    "river_km": ((0.3, 0.75, 1.5), False),  # ≤ 0.3 km → 4 …
    "slope_mean": ((4.0, 7.0, 10.0), True),  # > 10° → 4 …
    "hazard_points_per_km2": ((0.0, 0.1, 0.3), True),  # none → 1, > 0.3 → 4
    "forest_fraction": ((0.25, 0.5, 0.75), True),  # > 0.75 → 4 …
}
#: Indicator weights per hazard (missing indicators, e.g. no rivers, drop out).
WEIGHTS: dict[Hazard, dict[str, float]] = {
    "flash_flood": {"hand_m_p10": 1.0, "low_ground_share": 1.0, "river_km": 1.0},
    "geohazard": {"slope_mean": 1.0, "hazard_points_per_km2": 1.0},
    "forest_fire": {"forest_fraction": 2.0, "slope_mean": 1.0},
}
#: Exposure: population classes (≤ 1000, ≤ 2000, ≤ 3000, > 3000 people), one class higher
#: (at most 4) where a village has two or more schools, kindergartens or clinics, where people
#: gather who cannot move themselves.
POPULATION_BREAKS = (1000.0, 2000.0, 3000.0)
GATHERING_PLACES = 2
#: RISK_MATRIX[susceptibility − 1][exposure − 1] → risk level (rows: susceptibility 1…4).
RISK_MATRIX = np.array(
    [
        [1, 1, 2, 2],
        [1, 2, 2, 3],
        [2, 2, 3, 4],
        [2, 3, 4, 4],
    ],
    dtype=np.int16,
)
METHOD = (
    "susceptibility = weighted mean of indicator classes (geo.risk.BREAKS, WEIGHTS), rounded "
    "half up; exposure = population class (≤1000, ≤2000, ≤3000, >3000) + 1 with 2 or more "
    "schools or clinics (max 4); risk = RISK_MATRIX[susceptibility][exposure]; indicators "
    "area-weighted with exact cell coverage (geo.zonal)"
)

_COLUMNS = [
    "village_code",
    "hazard",
    "susceptibility_class",
    "exposure_class",
    "risk_level",
    "population",
    "households",
    "schools",
    "clinics",
    "hand_m_p10",
    "low_ground_share",
    "river_km",
    "slope_mean",
    "hazard_points_per_km2",
    "forest_fraction",
    "dem_coverage",
    "method",
    "method_version",
    "inputs",
]
_HAZARD_COLUMNS: dict[Hazard, tuple[str, ...]] = {
    "flash_flood": ("hand_m_p10", "low_ground_share", "river_km"),
    "geohazard": ("slope_mean", "hazard_points_per_km2"),
    "forest_fire": ("forest_fraction", "slope_mean"),
}
#: Indicators a row cannot do without (the table's CHECK constraints say the same).
_REQUIRED: dict[Hazard, tuple[str, ...]] = {
    "flash_flood": ("hand_m_p10",),
    "geohazard": ("slope_mean", "hazard_points_per_km2"),
    "forest_fire": ("forest_fraction", "slope_mean"),
}
FOREST_DATASET = "synthetic-forest"


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


def _sql(name: str) -> str:
    return load_sql("riskmap.geo.sql", name)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def catalogued_dem(conn: psycopg.Connection, county: str | None = None) -> Path:
    """Path of the DEM catalogued in ``raster_layer``: the county's own when ``county`` is
    given and has one, else the newest dataset's.

    Raises
    ------
    FileNotFoundError
        If no DEM is catalogued (load the demo or ingest a DEM first).
    """
    row = conn.execute(_sql("risk_catalogued_dem.sql"), {"county": county}).fetchone()
    if row is None:
        raise FileNotFoundError("no DEM in raster_layer (kind 'dem'); load the demo first")
    return Path(row[1])


def classify(values: np.ndarray, breaks: tuple[float, ...], ascending: bool) -> np.ndarray:
    """Class 1..len(breaks)+1 of each value (0 where NaN): how many breaks it passes.

    ``ascending`` indicators count ``value > break``; the others ``value <= break`` (so a HAND
    of exactly 2 m is in the worst class of "≤ 2 m").
    """
    v = np.asarray(values, dtype=np.float64)
    b = np.asarray(breaks, dtype=np.float64)
    if ascending:
        cls = 1 + (v[:, None] > b[None, :]).sum(axis=1)
    else:
        cls = 1 + (v[:, None] <= b[None, :]).sum(axis=1)
    return np.where(np.isnan(v), 0, cls).astype(np.int16)


def susceptibility(hazard: Hazard, indicators: dict[str, np.ndarray]) -> np.ndarray:
    """Susceptibility class 1–4 of each village for ``hazard`` (0 where no indicator is known)."""
    if hazard not in WEIGHTS:
        raise ValueError(f"unknown hazard {hazard!r}; allowed: {', '.join(HAZARDS)}")
    num = 0.0
    den = 0.0
    for name, weight in WEIGHTS[hazard].items():
        cls = classify(indicators[name], *BREAKS[name])
        known = cls > 0
        num = num + weight * cls
        den = den + weight * known
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return np.floor(mean + 0.5 + 1e-9).astype(np.int16)


def exposure(population: np.ndarray, schools: np.ndarray, clinics: np.ndarray) -> np.ndarray:
    """Exposure class 1–4: population class, one higher with several schools or clinics."""
    cls = classify(np.asarray(population, dtype=np.float64), POPULATION_BREAKS, True)
    vulnerable = (np.asarray(schools) + np.asarray(clinics)) >= GATHERING_PLACES
    return np.minimum(cls + vulnerable, 4).astype(np.int16)


def risk_level(susceptibility_class: np.ndarray, exposure_class: np.ndarray) -> np.ndarray:
    """Risk level 1–4 from the documented :data:`RISK_MATRIX`."""
    s = np.asarray(susceptibility_class)
    e = np.asarray(exposure_class)
    if s.min(initial=1) < 1 or s.max(initial=1) > 4 or e.min(initial=1) < 1 or e.max(initial=1) > 4:
        raise ValueError("classes must be within 1..4")
    return RISK_MATRIX[s - 1, e - 1]


def weighted_quantile(matrix: sparse.csr_matrix, values: np.ndarray, q: float) -> np.ndarray:
    """Area-weighted ``q`` quantile of the valid cells of each zone (row of ``matrix``).

    The smallest value whose cumulative weight reaches ``q`` of the zone's valid weight, found
    for all zones at once with one sort; NaN for zones with no valid cell.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be within 0..1")
    flat = np.asarray(values, dtype=np.float64).ravel()
    counts = np.diff(matrix.indptr)
    zone = np.repeat(np.arange(matrix.shape[0]), counts)
    v = flat[matrix.indices]
    w = matrix.data.astype(np.float64)
    ok = ~np.isnan(v) & (w > 0)
    zone, v, w = zone[ok], v[ok], w[ok]
    order = np.lexsort((v, zone))
    zone, v, w = zone[order], v[order], w[order]
    cum = np.cumsum(w)
    total = np.bincount(zone, weights=w, minlength=matrix.shape[0])
    before = np.concatenate([[0.0], np.cumsum(total)[:-1]])
    out = np.full(matrix.shape[0], np.nan)
    has = total > 0
    target = before[has] + q * total[has] * (1 - 1e-12)
    idx = np.searchsorted(cum, target, side="left")
    last = np.cumsum(np.bincount(zone, minlength=matrix.shape[0]))[has] - 1
    out[has] = v[np.minimum(idx, last)]
    return out


def _forest(
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
        _sql("risk_upsert_dataset.sql"),
        {
            "id": FOREST_DATASET,
            "title": "合成森林覆盖 / synthetic forest cover (derived from the DEM)",
            "synthetic": True,
            "source": "riskmap geo.risk_terrain.synthetic_forest: forest on slopes above "
            "the valley floors; stands in for a land-cover product",
            "licence": "CC0-1.0",
            "attribution": "Synthetic",
            "params": json.dumps({"dem": str(dem_path)}),
        },
    )
    t = dem.transform
    conn.execute(
        _sql("risk_upsert_raster_layer.sql"),
        {
            "id": f"forest-synthetic-{hashlib.sha256(str(out).encode()).hexdigest()[:12]}",
            "kind": "forest",
            "path": str(out),
            "crs": dem.crs,
            "width": dem.shape[1],
            "height": dem.shape[0],
            "transform": [t.a, t.b, t.c, t.d, t.e, t.f],
            "units": "fraction",
            "sha256": _sha256(out),
            "dataset_id": FOREST_DATASET,
            "footprint": shapely.to_wkb(shapely.box(*dem.bounds)),
        },
    )
    return read_geotiff(out), out, True


def _weights(
    grid: Dem, geoms: list, codes: list[str], cache_dir: Path | None
) -> zonal.ZonalWeights:
    """Zonal weights of the villages on ``grid`` (memory / disk cache keyed by both)."""
    grid_id = zonal.grid_definition_id(grid.crs, grid.transform, grid.shape)
    h = hashlib.sha256()
    for code, g in zip(codes, geoms, strict=True):
        h.update(code.encode())
        h.update(shapely.to_wkb(g))
    weights, _ = zonal.weights_for(
        grid_id,
        h.hexdigest()[:24],
        cache_dir,
        lambda: zonal.ZonalWeights.build(geoms, codes, grid.shape, grid.transform, grid.crs),
    )
    return weights


def build_risk(
    conn: psycopg.Connection,
    dem_path: str | Path,
    *,
    forest_path: str | Path | None = None,
    county: str | None = None,
    cache_dir: Path | None = None,
) -> RiskResult:
    """Compute and store the risk map of every village (of ``county``, or all) and hazard.

    Parameters
    ----------
    conn : connection; the rows are replaced in one transaction.
    dem_path : a north-up lon/lat GeoTIFF DEM (the demo's is catalogued in ``raster_layer``,
        see :func:`catalogued_dem`).
    forest_path : forest-cover fraction (0–1) GeoTIFF in any grid. When None, a synthetic one
        is derived from the DEM, written next to it as ``<dem>-forest-synthetic.tif`` and
        catalogued in ``raster_layer`` (kind ``forest``, dataset ``synthetic-forest``).
    county : six-digit GB/T 2260 code to limit the villages; None for all.
    cache_dir : where zonal weights are cached on disk (memory cache only when None).

    Returns
    -------
    RiskResult
        Counts, villages skipped or partly covered, and timings.
    """
    if county is not None and not (len(county) == 6 and county.isdigit()):
        raise ValueError(f"county must be a six-digit GB/T 2260 code, got {county!r}")
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    dem_path = Path(dem_path).resolve()
    dem = read_geotiff(dem_path)
    layers = terrain_layers(dem)
    seconds["terrain"] = time.perf_counter() - t0

    with conn.transaction():
        t = time.perf_counter()
        forest, forest_file, synthetic = _forest(
            conn, dem_path, layers, Path(forest_path).resolve() if forest_path else None
        )
        seconds["forest"] = time.perf_counter() - t
        t = time.perf_counter()
        rows = conn.execute(_sql("risk_villages.sql"), {"county": county}).fetchall()
        versions = conn.execute(_sql("risk_dataset_versions.sql"), {"county": county}).fetchall()
        seconds["vector_sql"] = time.perf_counter() - t
        if not rows:
            raise ValueError("no villages to map" + (f" in county {county}" if county else ""))
        codes = [r[0] for r in rows]
        geoms = list(shapely.from_wkb([bytes(r[1]) for r in rows]))

        t = time.perf_counter()
        w_dem = _weights(dem, geoms, codes, cache_dir)
        same_grid = forest.shape == dem.shape and tuple(forest.transform) == tuple(dem.transform)
        w_forest = w_dem if same_grid else _weights(forest, geoms, codes, cache_dir)
        seconds["weights"] = time.perf_counter() - t

        t = time.perf_counter()
        pop = np.array([r[2] for r in rows], dtype=np.float64)
        area = np.array([r[6] for r in rows], dtype=np.float64)
        river = np.array([np.nan if r[7] is None else r[7] for r in rows], dtype=np.float64)
        points = np.array([r[8] for r in rows], dtype=np.float64)
        low = np.where(np.isnan(layers.hand_m), np.nan, (layers.hand_m <= LOW_GROUND_M) * 1.0)
        indicators = {
            "hand_m_p10": weighted_quantile(w_dem.matrix, layers.hand_m, 0.10),
            "low_ground_share": w_dem.mean(low),
            "river_km": river,
            "slope_mean": w_dem.mean(layers.slope_deg),
            "hazard_points_per_km2": np.where(area > 0, points / np.where(area > 0, area, 1), 0),
            "forest_fraction": np.clip(w_forest.mean(forest.elevation), 0.0, 1.0),
        }
        coverage = w_dem.coverage(np.isfinite(dem.elevation))
        keep = coverage > 0
        expo = exposure(pop, [r[4] for r in rows], [r[5] for r in rows])
        inputs = {
            "dem": {"path": str(dem_path), "sha256": _sha256(dem_path)},
            "forest": {
                "path": str(forest_file),
                "sha256": _sha256(forest_file),
                "synthetic": synthetic,
            },
            "datasets": {d: at.isoformat() for d, at in versions},
            "channel_area_km2": CHANNEL_AREA_KM2,
            "low_ground_m": LOW_GROUND_M,
        }
        records, levels = _records(rows, indicators, expo, coverage, keep, inputs)
        seconds["statistics"] = time.perf_counter() - t

        t = time.perf_counter()
        conn.execute(_sql("risk_delete.sql"), {"codes": codes})
        with conn.cursor().copy(copy_statement("village_risk", _COLUMNS)) as cp:
            for rec in records:
                cp.write_row(rec)
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


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _records(
    rows: list,
    indicators: dict[str, np.ndarray],
    expo: np.ndarray,
    coverage: np.ndarray,
    keep: np.ndarray,
    inputs: dict,
) -> tuple[list[tuple], dict[str, dict[int, int]]]:
    """The ``village_risk`` rows (COPY order of :data:`_COLUMNS`) and level counts."""
    inputs_text = json.dumps(inputs, sort_keys=True)
    records: list[tuple] = []
    levels: dict[str, dict[int, int]] = {}
    for hazard in HAZARDS:
        sus = susceptibility(hazard, indicators)
        ok = keep & (sus > 0)
        for name in _REQUIRED[hazard]:
            ok &= ~np.isnan(indicators[name])
        risk = np.zeros_like(sus)
        risk[ok] = risk_level(sus[ok], expo[ok])
        levels[hazard] = {lv: int((risk[ok] == lv).sum()) for lv in (1, 2, 3, 4)}
        used = _HAZARD_COLUMNS[hazard]
        for i in np.flatnonzero(ok):
            r = rows[i]
            values = {
                name: (_value(indicators[name][i]) if name in used else None) for name in BREAKS
            }
            records.append(
                (
                    r[0],
                    hazard,
                    int(sus[i]),
                    int(expo[i]),
                    int(risk[i]),
                    int(r[2]),
                    int(r[3]),
                    int(r[4]),
                    int(r[5]),
                    *(values[name] for name in _COLUMNS[9:15]),
                    float(min(max(coverage[i], 0.0), 1.0)),
                    METHOD,
                    METHOD_VERSION,
                    inputs_text,
                )
            )
    return records, levels
