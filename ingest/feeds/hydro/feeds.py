"""The three hydrology feeds: how each recognises its files and which reader parses them."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from riskmap.ingest.batch import Batch, Context
from riskmap.ingest.feeds.hydro.nwis_json import KIND_NWIS, parse_nwis_json
from riskmap.ingest.feeds.hydro.sl323_csv import header_line, parse_sl323_csv, split_header
from riskmap.ingest.feeds.hydro.sl323_json import parse_sl323_json
from riskmap.ingest.feeds.hydro.tables import KIND_SL323, table_from_name
from riskmap.ingest.feeds.hydro.waterml2 import KIND_WATERML2, parse_waterml2


def _json_head(head: bytes) -> str:
    return head.lstrip(codecs.BOM_UTF8).lstrip().decode("utf-8", errors="ignore")


class Sl323Feed:
    """SL 323 rain and water tables as CSV or JSON."""

    kind = KIND_SL323
    description = (
        "SL 323 rain/water tables ST_PPTN_R, ST_RIVER_R, ST_RSVR_R, ST_STBPRP_B (CSV or JSON)"
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        try:
            text = _json_head(head)
            if text.startswith(("[", "{")):
                return bool(
                    re.search(r'"stcd"\s*:', text, re.IGNORECASE)
                    or re.search(r'"table"\s*:\s*"ST_', text, re.IGNORECASE)
                )
            cols = set(split_header(header_line(head)))
            if "STCD" in cols and ("TM" in cols or "STNM" in cols):
                return True
            return table_from_name(path) is not None and path.suffix.lower() in (".csv", ".txt")
        except (ValueError, IndexError):  # undecodable head: not an SL 323 table
            return False

    def parse(self, path: Path, ctx: Context) -> Batch:
        with path.open("rb") as fh:
            head = fh.read(4096)
        if _json_head(head).startswith(("[", "{")):
            return parse_sl323_json(path, ctx)
        return parse_sl323_csv(path, ctx)


class WaterML2Feed:
    """OGC WaterML 2.0 measurement time series."""

    kind = KIND_WATERML2
    description = "OGC WaterML 2.0 time series (discharge, stage, precipitation)"

    def sniff(self, path: Path, head: bytes) -> bool:
        return b"http://www.opengis.net/waterml/2.0" in head and b"<" in head[:200]

    def parse(self, path: Path, ctx: Context) -> Batch:
        return parse_waterml2(path, ctx)


class NwisJsonFeed:
    """USGS NWIS WaterML-JSON (instantaneous and daily values services)."""

    kind = KIND_NWIS
    description = "USGS NWIS WaterML-JSON (iv/dv): discharge, gage height, precipitation"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = _json_head(head)
        return text.startswith("{") and (
            "ns1:timeSeriesResponseType" in text or "org.cuahsi.waterml" in text
        )

    def parse(self, path: Path, ctx: Context) -> Batch:
        return parse_nwis_json(path, ctx)
