"""The bundled storm scenario: a day of synthetic feeds over the demo county, in real formats.

A convective storm crosses the county from south-west to north-east. The scenario writes what
the bureau would receive that day, each file in the format of its real feed: hourly rainfall
analyses (CF-NetCDF), a rainfall forecast, hourly gauge, river and reservoir tables in the
SL 323 layout (CSV, Beijing time), the regional geohazard risk warning (GeoJSON), satellite fire
hotspots (NASA FIRMS CSV) and the meteorological bureau's rainstorm signal with its escalation
and cancellation (CAP 1.2). File names start with the UTC time they arrive, so replaying them in
name order replays the day.

Each format has its own writer module; this one places the storm over the county and calls
them in a fixed order, which is also the order of the random draws.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely

from riskmap.geo.demo.county import DemoCounty
from riskmap.geo.demo.scenario.cap import write_cap_signals
from riskmap.geo.demo.scenario.grids import CELL_DEG, write_rain_grids
from riskmap.geo.demo.scenario.hotspots import write_hotspots
from riskmap.geo.demo.scenario.risk import write_risk_polygon
from riskmap.geo.demo.scenario.storm import HOURS, Storm
from riskmap.geo.demo.scenario.tables import write_gauges, write_reservoirs, write_rivers

DEFAULT_START = datetime(2026, 7, 14, 0, 0, tzinfo=UTC)  # 08:00 Beijing time, main flood season


def write_storm(
    demo: DemoCounty,
    out_dir: Path,
    *,
    start: datetime = DEFAULT_START,
    seed: int = 1,
    until: datetime | None = None,
    confine: bool = False,
) -> list[Path]:
    """Write the storm day for ``demo`` into ``out_dir``; returns the files in replay order.

    ``until``: nothing observed or sent after it is written (a storm placed to end *now* must
    not hold readings of hours that have not happened: a console would show them as latest).
    ``confine``: keep the storm inside the county, for a city where its neighbours are loaded
    and must stay quiet: the storm core rains only on grid cells wholly inside the outline
    (drizzle elsewhere), and the signal's polygon, the geohazard risk areas and the hotspots
    keep off the county line (see :func:`inner`). Off, the bundled storm is written unchanged.
    """
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    outline = demo.county.geometry
    west, south, east, north = outline.bounds
    storm = Storm(
        start_xy=(west + 0.15 * (east - west), south + 0.2 * (north - south)),
        end_xy=(west + 0.85 * (east - west), south + 0.8 * (north - south)),
    )
    hours = [
        start + timedelta(hours=h)
        for h in range(HOURS)
        if until is None or start + timedelta(hours=h + 1) <= until
    ]
    inside = inner(outline, CELL_DEG) if confine else None  # whole cells, corners too
    written = write_rain_grids(storm, outline.bounds, hours, out_dir, rng, inside=inside)

    stations = demo.tables["station"]
    written += write_gauges(stations, storm, hours, out_dir, rng)
    written += write_rivers(stations, demo.tables["river_indicator"], storm, hours, out_dir)
    written += write_reservoirs(
        stations,
        demo.tables["reservoir"],
        demo.tables["reservoir_flood_limit"],
        storm,
        hours,
        out_dir,
    )
    city = next((o.name for o in demo.outlines if o.code == demo.county.parent_code), "")
    written.append(
        write_risk_polygon(storm, outline, start, out_dir, confine=confine, city_name=city)
    )
    # 6 km inside: the fire rules look 5 km around a hotspot
    written.append(
        write_hotspots(inner(outline, 0.06) if confine else outline, start, out_dir, rng)
    )
    written += write_cap_signals(demo, outline, start, out_dir, until=until, confine=confine)
    return sorted(written, key=lambda p: p.name)


def inner(outline: shapely.Geometry, margin_deg: float) -> shapely.Geometry:
    """The outline shrunk by ``margin_deg`` (degrees), or by less where it would vanish (a small
    urban district): what a confined storm may touch without reaching the neighbours."""
    for m in (margin_deg, margin_deg / 2, margin_deg / 4):
        shrunk = outline.buffer(-m)
        if not shrunk.is_empty and shrunk.area > 0.05 * outline.area:
            return shrunk
    return outline.buffer(-margin_deg / 8)
