"""The storm's gauge, river and reservoir tables in the SL 323 layout (CSV, Beijing time).

Hydrological stations report hourly rows of ST_PPTN_R, ST_RIVER_R and ST_RSVR_R; these writers
derive them from the storm's rain at each station so stages and levels follow the storm.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.geo.demo.scenario.storm import HOURS, Storm, point_rain, stamp
from riskmap.geo.vocabulary import BEIJING


def _beijing(t: datetime) -> str:
    """SL 323 TM: Beijing local time without zone."""
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def write_gauges(
    stations: gpd.GeoDataFrame,
    storm: Storm,
    hours: list[datetime],
    out_dir: Path,
    rng: np.random.Generator,
) -> list[Path]:
    """Hourly rain at every rain gauge (ST_PPTN_R), the storm's rain give or take 10 %."""
    pp = stations[stations.sttp == "PP"]
    out = []
    for h, t in enumerate(hours):
        drp = np.round(point_rain(storm, pp, h) * rng.uniform(0.9, 1.1, len(pp)), 1)
        end = t + timedelta(hours=1)
        frame = pd.DataFrame(
            {"STCD": pp.stcd.to_numpy(), "TM": _beijing(end), "DRP": drp, "INTV": 1.00}
        )
        path = out_dir / f"{stamp(end + timedelta(minutes=5))}_ST_PPTN_R.csv"
        frame.to_csv(path, index=False)
        out.append(path)
    return out


def write_rivers(
    stations: gpd.GeoDataFrame,
    indicators: pd.DataFrame,
    storm: Storm,
    hours: list[datetime],
    out_dir: Path,
) -> list[Path]:
    """Stage follows the rain of the last hours (lag ~3 h); the wettest gauge passes 保证水位."""
    zq = stations[stations.sttp == "ZQ"].merge(indicators, on="stcd")
    if zq.empty:  # a county without river gauges (some of a city's) has no river files
        return []
    rain = np.array([point_rain(storm, zq, h) for h in range(HOURS)])  # hours × stations
    kernel = np.array([0.05, 0.15, 0.25, 0.25, 0.15, 0.1, 0.05])
    response = np.array([np.convolve(rain[:, i], kernel)[:HOURS] for i in range(len(zq))]).T
    scale = (zq.grz.to_numpy() + 0.4 - (zq.wrz.to_numpy() - 2.5)) / max(response.max(), 1e-6)
    z = zq.wrz.to_numpy() - 2.5 + response * scale
    q = 35.0 * np.clip(z - (zq.wrz.to_numpy() - 4.5), 0, None) ** 1.6
    out = []
    for h, t in enumerate(hours):
        end = t + timedelta(hours=1)
        rising = (z[h] > z[h - 1]) if h else np.ones(len(zq), dtype=bool)
        frame = pd.DataFrame(
            {
                "STCD": zq.stcd.to_numpy(),
                "TM": _beijing(end),
                "Z": np.round(z[h], 2),
                "Q": np.round(q[h], 1),
                "WPTN": np.where(rising, 5, 4),
            }
        )
        path = out_dir / f"{stamp(end + timedelta(minutes=10))}_ST_RIVER_R.csv"
        frame.to_csv(path, index=False)
        out.append(path)
    return out


def write_reservoirs(
    stations: gpd.GeoDataFrame,
    reservoirs: pd.DataFrame,
    limits: pd.DataFrame,
    storm: Storm,
    hours: list[datetime],
    out_dir: Path,
) -> list[Path]:
    """Levels start just under 汛限水位 and rise above it as the storm fills the reservoirs."""
    rr = stations[stations.sttp == "RR"].merge(reservoirs, on="stcd")
    if rr.empty:  # no reservoir with a level gauge: no reservoir files
        return []
    season = limits[limits.bgmd == "0701"].set_index("stcd").fsltdz
    limit = rr.stcd.map(season).to_numpy()
    rain = np.array([point_rain(storm, rr, h) for h in range(HOURS)])
    filled = np.cumsum(rain, axis=0)
    rz = limit - 0.8 + filled / max(filled.max(), 1e-6) * 2.0
    out = []
    for h, t in enumerate(hours):
        end = t + timedelta(hours=1)
        frame = pd.DataFrame(
            {
                "STCD": rr.stcd.to_numpy(),
                "TM": _beijing(end),
                "RZ": np.round(rz[h], 2),
                "INQ": np.round(rain[h] * 4.0 + 2, 1),
                "OTQ": np.round(np.where(rz[h] > limit, 25.0, 3.0), 1),
                "W": np.round(rr.total_capacity.to_numpy() * 0.75, 3),
            }
        )
        path = out_dir / f"{stamp(end + timedelta(minutes=10))}_ST_RSVR_R.csv"
        frame.to_csv(path, index=False)
        out.append(path)
    return out
