"""The storm's regional geohazard risk warning as GeoJSON: an orange core and a yellow belt.

The natural-resources and meteorological bureaus issue this jointly as polygons with a level
and a validity window; the demo draws them along the storm's track.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import shapely

from riskmap.geo.demo.scenario.storm import Storm, stamp
from riskmap.geo.vocabulary import BEIJING


def write_risk_polygon(
    storm: Storm,
    outline: shapely.Geometry,
    start: datetime,
    out_dir: Path,
    *,
    confine: bool = False,
    city_name: str = "怀化市",
) -> Path:
    """The joint natural-resources/meteorology geohazard risk warning: orange core, yellow belt
    (``confine``: both kept 1 km inside the county, off its neighbours' hazard points)."""
    track = shapely.LineString([storm.centre(3), storm.centre(15)])
    near, far = (
        (outline.buffer(-0.01),) * 2 if confine else (outline.buffer(0.05), outline.buffer(0.1))
    )
    orange = shapely.intersection(track.buffer(0.12), near)
    yellow = shapely.difference(shapely.intersection(track.buffer(0.25), far), orange)
    issued = start + timedelta(hours=2)
    valid_to = issued + timedelta(hours=24)
    features = [
        {
            "type": "Feature",
            "properties": {
                "level": level,
                "valid_from": issued.astimezone(BEIJING).isoformat(),
                "valid_to": valid_to.astimezone(BEIJING).isoformat(),
                "issued_at": issued.astimezone(BEIJING).isoformat(),
                "issuer": f"{city_name}自然资源和规划局 {city_name}气象局",
            },
            "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-5)),
        }
        for level, geom in ((2, orange), (3, yellow))
    ]
    path = out_dir / f"{stamp(issued)}_geohazard_risk.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path
