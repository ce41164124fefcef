"""The rain-grid feed: CF-NetCDF and GeoTIFF QPE analyses and QPF forecasts → catalogue, villages.

Importing this package registers the ``rain-grid`` feed. A grid file is copied into the data
store (``<data_dir>/grids/<yyyy>/<mm>/<dd>/<sha256 prefix>-<name>``, dated by its first period)
and catalogued: its grid definition (CRS, north-up affine transform, shape, footprint) in
``grid_definition`` and one ``grid_file`` row per period (time step, lead time or band). In the
same transaction every village the footprint touches gets its rain of each period
(:mod:`riskmap.geo.grids.village_rain`). How files are read (periods, units, times, tags) is
told in :mod:`riskmap.geo.grids`; here are ``sniff`` (which files are ours) and ``feed`` (file →
batch).

Not supported (rejected with a message, and not claimed by :meth:`RainGridFeed.sniff`): GRIB
(no eccodes here), DWD RADOLAN binaries, satellite swaths, station/point NetCDF (a CF
``featureType`` or lat/lon along a station dimension, e.g. the ERA5 city file) — station rain
belongs to the gauge feeds, not to grids.
"""

from __future__ import annotations

from riskmap.ingest.feeds.grids.feed import RainGridFeed
from riskmap.ingest.registry import register

__all__ = ["RainGridFeed"]

register(RainGridFeed())
