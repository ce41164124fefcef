"""The bundled scenario's storm and the clock its feed files share.

Every feed of the storm day (grids, gauge tables, warnings) is drawn from one moving storm
cell, and every file name starts with the UTC time it arrives so that replaying the files in
name order replays the day; both live here so each feed writer can use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np

HOURS = 24


@dataclass(frozen=True)
class Storm:
    """Where the storm core is and how hard it rains there, hour by hour."""

    start_xy: tuple[float, float]
    end_xy: tuple[float, float]
    peak_mm_h: float = 72.0
    peak_hour: float = 8.0
    spread_h: float = 3.2
    radius_km: float = 11.0

    def centre(self, hour: float) -> tuple[float, float]:
        f = np.clip(hour / 18.0, 0, 1)
        return (
            self.start_xy[0] + f * (self.end_xy[0] - self.start_xy[0]),
            self.start_xy[1] + f * (self.end_xy[1] - self.start_xy[1]),
        )

    def rate(
        self, lon: np.ndarray, lat: np.ndarray, hour: float, core: np.ndarray | None = None
    ) -> np.ndarray:
        """Rain in mm during the hour ending at ``hour`` + 1 (Gaussian core + drizzle); where
        the boolean ``core`` is False only the drizzle falls."""
        cx, cy = self.centre(hour + 0.5)
        dx = (lon - cx) * 111.0 * np.cos(np.radians(cy))
        dy = (lat - cy) * 111.0
        gauss = np.exp(-(dx**2 + dy**2) / (2 * self.radius_km**2))
        strength = self.peak_mm_h * np.exp(
            -((((hour + 0.5) - self.peak_hour) / self.spread_h) ** 2)
        )
        drizzle = 1.5 * np.exp(-((((hour + 0.5) - self.peak_hour) / 8.0) ** 2))
        heavy = strength * gauss if core is None else np.where(core, strength * gauss, 0.0)
        return heavy + drizzle * (0.6 + 0.4 * np.cos(lon * 40) * np.sin(lat * 35))


def stamp(t: datetime) -> str:
    """File-name prefix: the UTC minute a file arrives, so name order is replay order."""
    return t.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def point_rain(storm: Storm, stations: gpd.GeoDataFrame, hour: int) -> np.ndarray:
    """Rain (mm) at each station's point during hour ``hour`` of the day."""
    return storm.rate(stations.geometry.x.to_numpy(), stations.geometry.y.to_numpy(), hour)
