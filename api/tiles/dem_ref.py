"""A catalogued DEM as the terrain tiles use it: its own module, so that the tile pixels
(:mod:`.terrain_heights`, imported by the first render) and the catalogue (:mod:`.terrain`)
both read it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemRef:
    """One catalogued DEM (``raster_layer`` kind 'dem')."""

    id: str
    path: str
    sha256: str
    crs: str
    transform: tuple[float, ...]
    width: int
    height: int
    bounds: tuple[float, float, float, float]  # footprint (west, south, east, north), EPSG:4326
    attribution: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the DEM's heights in a cache key."""
        return self.id, self.sha256
