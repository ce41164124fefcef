"""USGS NWIS WaterML-JSON responses (instantaneous and daily values services).

Turns each time series and its ``sourceInfo`` into the shared points and sites of
:mod:`.series`.
"""

from __future__ import annotations

import json
from pathlib import Path

from pyproj import Transformer

from riskmap.ingest.batch import Batch, Context, FeedReadError, Problem
from riskmap.ingest.feeds.hydro.series import NWIS_PARAMETERS, Point, Site, points_batch
from riskmap.ingest.feeds.hydro.tables import STCD_PATTERN
from riskmap.ingest.feeds.hydro.times import with_document_offset

KIND_NWIS = "hydro-nwis-json"


def parse_nwis_json(path: Path, ctx: Context) -> Batch:
    """Parse a USGS NWIS WaterML-JSON response (instantaneous or daily values)."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
        series = doc["value"]["timeSeries"]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedReadError(f"{path.name}: not valid UTF-8 JSON ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise FeedReadError(f"{path.name}: no value.timeSeries in this NWIS response") from exc
    sites: list[Site] = []
    points: list[Point] = []
    problems: list[Problem] = []
    for i, ts in enumerate(series, start=1):
        _nwis_series(ts, i, sites, points, problems)
    if not sites and not problems:
        raise FeedReadError(
            f"{path.name}: no discharge (00060), gage height (00065) or precipitation (00045)"
            f" series among {len(series)}"
        )
    batch = points_batch(KIND_NWIS, path, ctx, sites, points)
    batch.problems[:0] = problems
    return batch


def _nwis_series(
    ts: dict, i: int, sites: list[Site], points: list[Point], problems: list[Problem]
) -> None:
    var = ts.get("variable") or {}
    codes = [c.get("value") for c in var.get("variableCode") or []]
    variable = next((NWIS_PARAMETERS[c] for c in codes if c in NWIS_PARAMETERS), None)
    if variable is None:
        return
    src = ts.get("sourceInfo") or {}
    site_no = next((c.get("value") for c in src.get("siteCode") or []), None)
    label = f"series {i} ({ts.get('name', '')})"
    if not site_no or not STCD_PATTERN.match(str(site_no)):
        problems.append(
            Problem(label, "siteCode", f"site number {site_no!r} does not fit an 8-character STCD")
        )
        return
    geo = (src.get("geoLocation") or {}).get("geogLocation") or {}
    lon, lat = geo.get("longitude"), geo.get("latitude")
    if geo.get("srs") not in (None, "EPSG:4326", "EPSG:4269") and lon is not None:
        lat, lon = Transformer.from_crs(geo["srs"], "EPSG:4326").transform(lat, lon)
    sites.append(Site(site_no, src.get("siteName"), lon, lat, {variable}))
    unit = (var.get("unit") or {}).get("unitCode")
    nodata = var.get("noDataValue")
    zone = ((src.get("timeZoneInfo") or {}).get("defaultTimeZone") or {}).get("zoneOffset")
    for block in ts.get("values") or []:
        for j, v in enumerate(block.get("value") or [], start=1):
            points.append(
                Point(
                    site_no,
                    variable,
                    with_document_offset(v.get("dateTime") or "", zone),
                    v.get("value"),
                    unit,
                    f"{label} value {j}",
                    float(nodata) if nodata is not None else None,
                )
            )
