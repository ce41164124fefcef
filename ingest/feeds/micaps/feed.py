"""The ``micaps-stations`` feed: which files it claims (``diamond 3``) and who reads them."""

from __future__ import annotations

from pathlib import Path

from riskmap.ingest.batch import Batch, Context
from riskmap.ingest.feeds.micaps.header import micaps_type
from riskmap.ingest.feeds.micaps.stations import KIND, parse_micaps3


class MicapsStationFeed:
    """MICAPS type 3 station rainfall."""

    kind = KIND
    description = "MICAPS type 3 (diamond 3) station rainfall, GBK or UTF-8"

    def sniff(self, path: Path, head: bytes) -> bool:
        """A file that starts with ``diamond 3`` (a non-rain one is refused by parse)."""
        return micaps_type(head) == 3

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Station registrations and rain rows, checked as SL 323 rain is."""
        return parse_micaps3(path, ctx)
