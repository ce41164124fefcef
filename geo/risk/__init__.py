"""Village risk maps: susceptibility × exposure → a risk level per village and hazard.

For every village and each hazard of :data:`HAZARDS` the method (version
:data:`METHOD_VERSION`) computes

* **indicators** from the DEM and vector layers, area-weighted per village with the sparse
  zonal weights of :mod:`riskmap.geo.zonal` (built once for the DEM grid):

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

The package is split by job: :mod:`.scoring` (the classes, pure numpy), :mod:`.indicators`
(zonal statistics per village), :mod:`.catalogue` (the DEM and forest rasters in
``raster_layer``), :mod:`.rows` (the ``village_risk`` table), :mod:`.build` (the whole run) and
:mod:`.counties` (every loaded county, each on its own terrain).
Its top level re-exports the method's names because every stored row's ``method`` text points
at ``geo.risk.BREAKS`` / ``WEIGHTS``, and the method's tests read it as one namespace.
"""

from riskmap.geo.risk.build import RiskResult, build_risk
from riskmap.geo.risk.catalogue import FOREST_DATASET, catalogued_dem
from riskmap.geo.risk.counties import CountyRuns, build_counties, county_dems
from riskmap.geo.risk.indicators import LOW_GROUND_M, weighted_quantile
from riskmap.geo.risk.rows import _COLUMNS as _COLUMNS  # the table's column order, for tests
from riskmap.geo.risk.scoring import (
    BREAKS,
    GATHERING_PLACES,
    HAZARDS,
    METHOD,
    METHOD_VERSION,
    POPULATION_BREAKS,
    RISK_MATRIX,
    WEIGHTS,
    Hazard,
    classify,
    exposure,
    risk_level,
    susceptibility,
)

__all__ = [
    "BREAKS",
    "FOREST_DATASET",
    "GATHERING_PLACES",
    "HAZARDS",
    "LOW_GROUND_M",
    "METHOD",
    "METHOD_VERSION",
    "POPULATION_BREAKS",
    "RISK_MATRIX",
    "WEIGHTS",
    "CountyRuns",
    "Hazard",
    "RiskResult",
    "build_counties",
    "build_risk",
    "catalogued_dem",
    "classify",
    "county_dems",
    "exposure",
    "risk_level",
    "susceptibility",
    "weighted_quantile",
]
