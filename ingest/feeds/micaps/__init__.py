"""MICAPS, the Chinese forecasters' exchange format: type 3 station rain and type 4 rain grids.

Importing this package registers the ``micaps-stations`` feed (type 3, ``diamond 3``: station
rainfall → ``rain_obs`` through the SL 323 checks, :mod:`.stations`). Type 4 grids
(``diamond 4``) are rain grids: the ``rain-grid`` feed claims them and reads them with
:mod:`.grid4`. The text, header time (Beijing → UTC) and accumulation rules both share are in
:mod:`.header`.
"""

from __future__ import annotations

from riskmap.ingest.feeds.micaps.feed import MicapsStationFeed
from riskmap.ingest.registry import register

__all__ = ["MicapsStationFeed"]

register(MicapsStationFeed())
