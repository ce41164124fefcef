"""Village rainfall from rain gauges, where the gridded analyses do not cover a village.

Each village takes the rain of its nearest gauge (the ``rain_area`` relation of
``station_village``: the gauge's Thiessen area), summed per clock hour, as ``village_rain``
rows of product ``'gauge'`` with coverage 1.0 and the gauge's STCD as ``source_ref``. The rules
then read gauge rain exactly like grid rain.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.geo.sql")


def write_village_gauge_rain(
    conn: psycopg.Connection, ingest_id: int, start: datetime, end: datetime
) -> int:
    """Write (or refresh) the hourly 'gauge' rain of every village whose gauge got new
    observations in ingest ``ingest_id``.

    An hour is recomputed from all stored observations of the gauge in that hour, not only the
    new ones, so files that each carry part of an hour add up correctly. The village hour
    ``[H - 1 h, H)`` sums the DRP of observations with ``H - 1 h < TM <= H`` (SL 323 DRP is the
    rain of the period ending at TM); periods longer than one hour are left out.

    Parameters
    ----------
    conn
        Connection inside the ingest's transaction (rows commit or roll back with it).
    ingest_id
        The ``ingest_log`` id whose ``rain_obs`` rows define the affected gauges and hours.
    start, end
        First and last observation time of that ingest (its ``valid_from`` / ``valid_to``):
        they let the time index find the ingest's rows without an index on ``ingest_id``.

    Returns
    -------
    int
        Village-hour rows inserted or updated.
    """
    cur = conn.execute(
        SQL("gauge_rain.sql"),
        {"ingest_id": ingest_id, "start": start, "end": end},
    )
    return cur.rowcount
