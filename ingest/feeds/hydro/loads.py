"""The loads every hydrology reader ends with: stations (and their dataset), observation
tables, and the village gauge rain written after rain loads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.gauge_rain import write_village_gauge_rain
from riskmap.ingest.batch import Context, TableLoad
from riskmap.ingest.feeds.hydro.tables import STBPRP, Sl323Table

SQL = SqlFiles("riskmap.ingest.sql")
STATION_DATASET = "ingest-stations"


def station_loads(ctx: Context, stations: pd.DataFrame) -> list[TableLoad]:
    """The ``ingest-stations`` dataset (when missing) and the station upsert."""
    if stations.empty:
        return []
    loads = []
    exists = SQL.one(ctx.conn, "hydro_dataset_exists.sql", {"id": STATION_DATASET}, shape="tuple")
    if exists is None and (stations["dataset_id"] == STATION_DATASET).any():
        dataset = pd.DataFrame(
            [
                {
                    "id": STATION_DATASET,
                    "title": "测站 / stations registered by ingested hydrology files",
                    "synthetic": False,
                    "source": "ingest: SL 323 ST_STBPRP_B, WaterML 2.0, USGS NWIS",
                }
            ]
        )
        loads.append(TableLoad("dataset", dataset, key=("id",), on_conflict="ignore"))
    loads.append(TableLoad("station", stations, key=("stcd",), on_conflict="update"))
    return loads


def rain_after_load(
    start: datetime | None, end: datetime | None
) -> Callable[[psycopg.Connection, int], dict[str, int]] | None:
    """Village gauge rain for the hours of the rain just loaded (between ``start`` and ``end``)."""
    if start is None or end is None:
        return None

    def after_load(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
        return {"village_rain": write_village_gauge_rain(conn, ingest_id, start, end)}

    return after_load


def table_load(
    table: Sl323Table, frame: pd.DataFrame, key: tuple[str, ...], *, replace_own: bool = False
) -> TableLoad:
    """Checked rows of an SL 323 table: stations upsert, observations keep the first value
    stored (``replace_own``: except one this same ingest stored, which a later row of the
    file replaces)."""
    if table is STBPRP:
        return TableLoad("station", frame, key=key, on_conflict="update")
    mode = "update_own" if replace_own else "ignore"
    return TableLoad(table.target, frame, key=key, on_conflict=mode, binary=True)
