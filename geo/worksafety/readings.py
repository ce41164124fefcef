"""Readings into ws_reading: a binary COPY straight in, or through a staging table and one
INSERT … ON CONFLICT when the batch holds a reading already stored.

Shared by the HJ 212 server, the MQTT subscriber, the HTTP route (ingest/worksafety, api) and
anyone with readings in hand (the demo, the synthetic month of the alarm bench):
``store_readings(conn, rows)``. A reading already stored (same point and time: devices resend
what they got no answer to) is counted as a duplicate and skipped, never an error that would
sink its batch. The caller commits.

Why two paths (bench ``worksafety``, same rows, same table): the staging COPY + ``INSERT …
ON CONFLICT DO NOTHING`` ran at about a third of a bare COPY's rows/s, so a batch is first
COPYed straight into ws_reading inside a savepoint, and only a batch that breaks the primary
key (rare: a resend) is rolled back to it and staged. The rows are encoded for ws_reading's own
column types (int4, timestamptz, float8, char(1)) by one numpy record array: fixed-width rows,
one vectorised pass, where :mod:`riskmap.geo.db.binary_copy` writes int8 and text for any frame
(and so needs a staging table to cast).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles

if TYPE_CHECKING:  # numpy and pandas are imported by the functions: the API starts without them
    import numpy as np
    import pandas as pd

SQL = SqlFiles("riskmap.geo.worksafety.sql")
COLUMNS = ("point_n", "tm", "value", "flag")
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in µs since 1970, PostgreSQL's epoch


@cache
def _row() -> np.dtype:
    """One binary COPY row of ws_reading: field count, then each field's length and big-endian
    value."""
    import numpy as np

    return np.dtype(
        [
            ("fields", ">i2"),
            ("n_len", ">i4"),
            ("point_n", ">i4"),
            ("tm_len", ">i4"),
            ("tm", ">i8"),
            ("value_len", ">i4"),
            ("value", ">f8"),
            ("flag_len", ">i4"),
            ("flag", "S1"),
        ]
    )


@dataclass(frozen=True)
class Stored:
    """What a store did: readings inserted and readings skipped as already stored."""

    inserted: int
    duplicates: int


def readings_frame(
    point_n: Sequence[int] | np.ndarray,
    tm_us: Sequence[int] | np.ndarray,
    value: Sequence[float] | np.ndarray,
    flag: Sequence[str],
) -> pd.DataFrame:
    """Columns of readings as the store takes them; ``tm_us`` in µs since 1970 UTC."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame(
        {
            "point_n": np.asarray(point_n, dtype=np.int64),
            "tm": pd.to_datetime(np.asarray(tm_us, dtype=np.int64), unit="us", utc=True),
            "value": np.asarray(value, dtype=np.float64),
            "flag": pd.Series(list(flag), dtype=object),
        }
    )


def _frame(rows: pd.DataFrame | Iterable[tuple[int, datetime, float, str]]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        return rows[list(COLUMNS)]
    data = list(rows)
    frame = pd.DataFrame(data, columns=list(COLUMNS))
    frame["point_n"] = frame["point_n"].astype(np.int64)
    frame["tm"] = pd.to_datetime(frame["tm"], utc=True)
    frame["value"] = frame["value"].astype(np.float64)
    return frame


def store_readings(
    conn: psycopg.Connection, rows: pd.DataFrame | Iterable[tuple[int, datetime, float, str]]
) -> Stored:
    """Store readings (point_n, tm aware, value, flag) — a frame from :func:`readings_frame` or
    tuples — into ws_reading, making the months' partitions first. Returns inserted and
    duplicate counts; the caller's transaction holds the rows until it commits.

    Raises ValueError for a row that must be refused (and quarantined) before it is stored:
    no value (NaN), no time, a flag that is not one character, a point_n beyond int4.
    """
    frame = _frame(rows)
    if frame.empty:
        return Stored(0, 0)
    payload = _payload(frame)
    conn.execute(
        SQL("readings_ensure_partitions.sql"),
        {"t_from": frame["tm"].min().to_pydatetime(), "t_to": frame["tm"].max().to_pydatetime()},
    )
    try:
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(SQL("readings_copy_direct.sql")) as copy,
        ):
            copy.write(payload)
        return Stored(len(frame), 0)
    except psycopg.errors.UniqueViolation:
        pass  # rolled back to the savepoint: stage the batch and skip what is stored
    with conn.transaction(), conn.cursor() as cur:  # the staged rows live until it ends
        cur.execute(SQL("readings_staging.sql"))
        cur.execute(SQL("readings_empty_stage.sql"))  # an earlier batch of the same transaction
        with cur.copy(SQL("readings_copy_stage.sql")) as copy:
            copy.write(payload)
        inserted = cur.execute(SQL("readings_insert_from_stage.sql")).rowcount
    return Stored(inserted, len(frame) - inserted)


def _payload(frame: pd.DataFrame) -> bytes:
    """The rows in binary COPY format for ws_reading's column types, checked first."""
    import numpy as np

    from riskmap.geo.db.binary_copy import HEADER, TRAILER

    value = frame["value"].to_numpy(dtype=np.float64)
    if np.isnan(value).any():
        raise ValueError("a reading has no value (NaN): refuse it before storing")
    if frame["tm"].isna().any():
        raise ValueError("a reading has no time: refuse it before storing")
    point = frame["point_n"].to_numpy(dtype=np.int64)
    if point.min() < -(2**31) or point.max() >= 2**31:
        raise ValueError("point_n beyond int4")
    flag = frame["flag"].to_numpy(dtype=object)
    try:
        encoded = flag.astype("S")
    except (UnicodeEncodeError, TypeError):
        encoded = np.array([b"??"])
    if encoded.dtype.itemsize != 1 or (np.char.str_len(encoded) != 1).any():
        raise ValueError("a reading's flag is not one character (N F M S D C T B)")
    ns = frame["tm"].dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]").astype(np.int64)
    rows = np.empty(len(frame), dtype=_row())
    rows["fields"] = 4
    rows["n_len"], rows["tm_len"], rows["value_len"], rows["flag_len"] = 4, 8, 8, 1
    rows["point_n"] = point
    rows["tm"] = ns // 1000 - _PG_EPOCH_US  # readings are to the second: no rounding to mind
    rows["value"] = value
    rows["flag"] = encoded
    return HEADER + rows.tobytes() + TRAILER


def point_map(conn: psycopg.Connection) -> dict[tuple[str, str], int]:
    """(MN, factor code) → point n of every point with an HJ 212 device."""
    rows = SQL.rows(conn, "readings_point_map.sql", shape="tuple")  # whatever the connection's rows
    return {(mn, factor): n for mn, factor, n in rows}


def point_ids(conn: psycopg.Connection) -> dict[str, int]:
    """Point id → point n (MQTT topics and HTTP bodies name points by id)."""
    return {pid: n for pid, n in SQL.rows(conn, "readings_point_ids.sql", shape="tuple")}


def drop_old_readings(conn: psycopg.Connection, keep_days: int, now: datetime | None = None) -> int:
    """Retention: drop the whole months of readings that ended more than ``keep_days`` ago
    (a month goes only once all of it is that old); returns how many months went."""
    if keep_days < 1:
        raise ValueError(f"keep_days must be at least 1, got {keep_days}")
    now = now or datetime.now(UTC)
    before = now - timedelta(days=keep_days)
    return SQL.one(conn, "readings_drop_before.sql", {"before": before}, shape="tuple")[0]
