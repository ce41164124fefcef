"""The storm scenario's feed tables for a county without river or reservoir gauges (some of a
city's counties): no files of that kind, not a crash (max() of an empty array)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely import Point

from riskmap.geo.demo.scenario.storm import Storm
from riskmap.geo.demo.scenario.tables import write_reservoirs, write_rivers


def test_no_river_or_reservoir_gauges_write_no_files(tmp_path: Path) -> None:
    rain_only = gpd.GeoDataFrame(
        {"stcd": ["P0000001"], "sttp": ["PP"]}, geometry=[Point(110.0, 27.8)], crs=4326
    )
    storm = Storm(start_xy=(109.9, 27.7), end_xy=(110.1, 27.9))
    hours = [datetime(2026, 7, 14, tzinfo=UTC) + timedelta(hours=h) for h in range(24)]
    indicators = pd.DataFrame({"stcd": pd.Series(dtype=str), "wrz": [], "grz": []})
    assert write_rivers(rain_only, indicators, storm, hours, tmp_path) == []
    reservoirs = pd.DataFrame({"stcd": pd.Series(dtype=str)})
    limits = pd.DataFrame({"stcd": pd.Series(dtype=str), "bgmd": [], "fsltdz": []})
    assert write_reservoirs(rain_only, reservoirs, limits, storm, hours, tmp_path) == []
    assert not list(tmp_path.iterdir())
