"""Geohazard feeds: hazard-point inventories, monitoring sensor readings, regional risk warnings.

Importing the package registers the three feeds, in detection order:

``hazard-points`` (:mod:`.hazard_points`)
    隐患点 inventories as GeoJSON, GeoPackage or Shapefile, English or common Chinese column
    names, upserted into ``hazard_point`` (dataset ``ingest-geohazard``). A point without a
    village code gets the village that contains it.
``sensor-readings`` (:mod:`.sensor_readings`)
    Readings of the monitoring sensors in ``sensor`` (GNSS displacement, crack meters, slope rain
    gauges, tailings-dam phreatic line …) as CSV or JSON, converted to the sensor's unit and
    stored in ``sensor_obs``.
``geohazard-risk`` (:mod:`.risk_warnings`)
    Regional geohazard meteorological risk warning polygons (地质灾害气象风险预警, levels 一级 …
    四级) as GeoJSON, stored in ``geohazard_risk_area``.

The field, sniffing, GeoJSON, geometry and CRS helpers it shares with the fire feeds are in
:mod:`riskmap.ingest.feeds.features`.
"""

from __future__ import annotations

from riskmap.ingest.feeds.geohazard.hazard_points import HazardPoints
from riskmap.ingest.feeds.geohazard.risk_warnings import GeohazardRisk
from riskmap.ingest.feeds.geohazard.sensor_readings import SensorReadings
from riskmap.ingest.registry import register

register(HazardPoints())
register(SensorReadings())
register(GeohazardRisk())
