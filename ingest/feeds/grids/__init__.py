"""The rain-grid feed: CF-NetCDF, GeoTIFF, MICAPS type 4 and GRIB QPE/QPF → catalogue, villages.

Importing this package registers the ``rain-grid`` feed. A grid file is copied into the data
store (``<data_dir>/grids/<yyyy>/<mm>/<dd>/<sha256 prefix>-<name>``, dated by its first period)
and catalogued: its grid definition (CRS, north-up affine transform, shape, footprint) in
``grid_definition`` and one ``grid_file`` row per period (time step, lead time or band). In the
same transaction every village the footprint touches gets its rain of each period
(:mod:`riskmap.geo.grids.village_rain`). How files are read (periods, units, times, tags) is
told in :mod:`riskmap.geo.grids`; here are ``sniff`` (which files are ours), ``feed`` (file →
batch), ``parts`` (a grid's periods in mm) and ``converted``: MICAPS type 4
(:mod:`riskmap.ingest.feeds.micaps.grid4`) and GRIB (:mod:`riskmap.ingest.feeds.grib`) files
are converted to CF-NetCDF in the data store (``cf_write``) and read back by the NetCDF reader,
so everything downstream reads one format.

Not supported (rejected with a message, and not claimed by :meth:`RainGridFeed.sniff`):
DWD RADOLAN binaries, satellite swaths, station/point NetCDF (a CF
``featureType`` or lat/lon along a station dimension, e.g. the ERA5 city file) — station rain
belongs to the gauge feeds, not to grids.
"""

from __future__ import annotations

from riskmap.ingest.feeds.grids.feed import RainGridFeed
from riskmap.ingest.registry import register

__all__ = ["RainGridFeed"]

register(RainGridFeed())
