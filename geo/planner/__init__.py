"""The planner's API: what the service computes, one import away in a notebook.

    from riskmap.geo import planner
    conn = planner.connect()                      # configured or embedded database
    v = planner.villages(conn, county="431226", crs="EPSG:4549")

Loaders return GeoDataFrames (EPSG:4326 unless ``crs=`` reprojects; an unknown CRS raises
ValueError), DataFrames and xarray, with timezone-aware UTC times; modes are ``Literal`` and a
wrong one raises ValueError listing the allowed values. They read the service's own tables
and call its own functions: nothing is recomputed here.

- ``connect(url=None)``: autocommit connection; no URL = the ``RISKMAP_`` settings.
- ``villages(conn, county=None)``: villages with township, population, households, area.
- ``townships(conn, county=None)``: townships with their villages' totals.
- ``risk(conn, hazard=None)``: village risk maps (susceptibility, exposure, risk level).
- ``resources(conn, kind)``: shelters, warehouses (stock as columns), teams; experts as a
  plain DataFrame (they have no location).
- ``stock(conn)``: relief stock per warehouse and item, with names and units.
- ``stations(conn)``: stations with the latest level and warning/guarantee/flood-limit levels.
- ``warnings(conn, status="all")``: warnings with their CAP versions and evidence.
- ``observations(conn, stcd=None, since=None, until=None, kind="rain")``: station readings.
- ``village_rain(conn, codes=None, since=None, until=None, product="qpe")``: rain per village
  and period.
- ``rain_grid(conn, at=None, product="qpe")``: a catalogued rain grid as an xarray.DataArray
  in mm with its CRS (CF ``spatial_ref``).
- ``uniform(conn, code, mm=, hours=3)``: the same rain on every village of a unit (what-if).
- ``dry_run(conn, at, village_rain=… | rain_field=…)``: what the real rules would raise for a
  hypothetical rainfall, with evidence; nothing is written (one rolled-back transaction).
- ``impact(conn, codes_or_dry_run)``: people, households and places exposed (geo.impact).
- ``village_points(conn)``: villages as the points distances are measured from.
- ``nearest(conn, kind, specialty=, items=)``: the nearest shelter, warehouse or team to every
  village (straight line on the spheroid; no road network is loaded).
- ``people_at_risk(conn, hazard, min_risk=3)``: people each village at risk must move.
- ``shelter_balance(conn, hazard)``: free shelter places against people at risk, per township.
- ``minimum_needs(people, days=7)``, ``stock_gap(conn, people, days=7)``: InaSAFE-style needs
  (``minimum_needs.yaml``, replaceable) against the relief stock.
- ``locate(demand, candidates, add=, objective="max_cover" | "p_median")``: where new
  shelters or reserve points help most (PySAL spopt), with the coverage they buy.
- ``frequency(conn, source=None, villages=None, flagged=False)``: rainfall frequency per
  village and duration (Gumbel/GEV fits of the archive's annual maxima, return levels with
  confidence intervals, return periods of the critical rainfall and the flags ``over_warn`` /
  ``may_never_warn``); ``annual_maxima(conn, source, villages)`` the yearly maxima behind it,
  ``frequency_sources(conn)`` the archive sources.
- ``to_geopackage``, ``to_geoparquet``, ``to_cog``: files GIS tools open (GeoPackage,
  GeoParquet, cloud-optimised GeoTIFF).
"""

from riskmap.geo.planner.connect import connect
from riskmap.geo.planner.coverage import (
    minimum_needs,
    nearest,
    people_at_risk,
    shelter_balance,
    stock_gap,
    village_points,
)
from riskmap.geo.planner.data import (
    observations,
    rain_grid,
    resources,
    risk,
    stations,
    stock,
    townships,
    village_rain,
    villages,
    warnings,
)
from riskmap.geo.planner.export import to_cog, to_geopackage, to_geoparquet
from riskmap.geo.planner.frequency import annual_maxima, frequency, frequency_sources
from riskmap.geo.planner.locate import Siting, locate
from riskmap.geo.planner.whatif import dry_run, impact, uniform

__all__ = [
    "Siting",
    "annual_maxima",
    "connect",
    "dry_run",
    "frequency",
    "frequency_sources",
    "impact",
    "locate",
    "minimum_needs",
    "nearest",
    "observations",
    "people_at_risk",
    "rain_grid",
    "resources",
    "risk",
    "shelter_balance",
    "stations",
    "stock",
    "stock_gap",
    "to_cog",
    "to_geopackage",
    "to_geoparquet",
    "townships",
    "uniform",
    "village_points",
    "village_rain",
    "villages",
    "warnings",
]
