"""The risk method's classes: indicators → susceptibility, population → exposure, both → risk.

Pure numpy over arrays of villages, with no database or raster in sight, so the method (its
breaks, weights and matrix, versioned by :data:`METHOD_VERSION`) can be read and checked on
hand-made inputs.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Hazard = Literal["flash_flood", "geohazard", "forest_fire"]
HAZARDS: tuple[Hazard, ...] = ("flash_flood", "geohazard", "forest_fire")
METHOD_VERSION = "1"

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
