"""Which files the rain-grid feed claims, and which grid formats it names and refuses.

Sniffing runs on every file the pipeline is given, so it only opens a file far enough to see a
rainfall variable or RISKMAP_* tags (the feed's ``sniff`` takes a read error for "not ours").
"""

from __future__ import annotations

from pathlib import Path

from riskmap.geo.grids.netcdf import STATION_FEATURES, feature_type, find_rain_variable
from riskmap.geo.grids.tags import FILENAME_PATTERN

NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
GRIB_MAGIC = b"GRIB"


def sniff_netcdf(path: Path) -> bool:
    """A NetCDF file with a rainfall variable that is not a station collection."""
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        if feature_type(nc) in STATION_FEATURES:
            return False  # CF discrete sampling geometry: station feeds
        return find_rain_variable(nc) is not None


def sniff_tiff(path: Path) -> bool:
    """A GeoTIFF named by the file-name pattern or carrying RISKMAP_* tags."""
    import rasterio

    if FILENAME_PATTERN.search(path.name):
        return True
    with rasterio.open(path) as ds:
        tags = {k.upper() for k in ds.tags()}
        return any(k.startswith("RISKMAP_") for k in tags)


def not_supported(head: bytes) -> str | None:
    """What a known but unsupported grid format is (to say so when rejecting it), else None."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip-compressed data (e.g. DWD RADOLAN binaries); unpack or convert first"
    if head[:2] in (b"RW", b"RY", b"SF", b"RX") and b"PR" in head[:64]:
        return "DWD RADOLAN binary"
    return None
