"""Binary COPY of plain frames: what the server reads back is what the frame held."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from riskmap.geo.db.binary_copy import STAGING_TYPES, binary_payload


def _round_trip(conn: psycopg.Connection, frame: pd.DataFrame) -> list[tuple]:
    data, types = binary_payload(frame)
    cols = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f"c{i}"), sql.SQL(STAGING_TYPES[t]))
        for i, t in enumerate(types)
    )
    conn.execute(sql.SQL("CREATE TEMP TABLE bc ({}) ON COMMIT DROP").format(cols))
    with conn.cursor() as cur, cur.copy("COPY bc FROM STDIN (FORMAT binary)") as cp:
        cp.write(data)
    return conn.execute("SELECT * FROM bc").fetchall()


def test_values_nulls_and_text_of_any_length_come_back(db_url: str) -> None:
    frame = pd.DataFrame(
        {
            "stcd": ["60420100", None, "A", "雨量站b"],
            "tm": pd.to_datetime(
                ["2024-07-01 00:00:00", None, "1999-12-31 23:59:59.0000015", "1970-01-01"],
                utc=True,
                format="ISO8601",
            ),
            "drp": [1.5, np.nan, 0.05, -0.0],
            "n": pd.array([1, None, -5, 2**40], dtype="Int64"),
            "i": np.array([7, 7, 7, 7]),
        }
    )
    with psycopg.connect(db_url) as conn:
        rows = _round_trip(conn, frame)
    assert rows == [
        ("60420100", datetime(2024, 7, 1, tzinfo=UTC), 1.5, 1, 7),
        (None, None, None, None, 7),
        # 1.5 µs rounds half to even, to 2 µs, as the server reads '…59.0000015'
        ("A", datetime(1999, 12, 31, 23, 59, 59, 2, tzinfo=UTC), 0.05, -5, 7),
        ("雨量站b", datetime(1970, 1, 1, tzinfo=UTC), -0.0, 2**40, 7),
    ]


def test_float_into_numeric_reads_the_written_decimal(db_url: str) -> None:
    """SL 323 INTV is numeric(5, 2): a float staged as float8 casts as the decimal text did."""
    values = [0.05, 0.015, 1.125, 0.3000000000000001, 743.99]
    frame = pd.DataFrame({"v": values})
    with psycopg.connect(db_url) as conn:
        _round_trip(conn, frame)
        cast = conn.execute("SELECT c0::numeric(5, 2) FROM bc").fetchall()
        text = [
            conn.execute("SELECT %s::text::numeric(5, 2)", (repr(v),)).fetchone()[0] for v in values
        ]
    assert (
        [r[0] for r in cast]
        == text
        == [Decimal(s) for s in ("0.05", "0.02", "1.13", "0.30", "743.99")]
    )


def test_frames_it_cannot_write_are_left_to_csv() -> None:
    assert binary_payload(pd.DataFrame({"g": [shapely.Point(1, 2)]})) is None
    assert binary_payload(pd.DataFrame({"d": [{"a": 1}]})) is None
    assert binary_payload(pd.DataFrame({"b": [True, False]})) is None
    assert binary_payload(pd.DataFrame({"mixed": ["a", 5]})) is None
    # all NULL in an object column: text or a number? (a trend code into smallint)
    assert binary_payload(pd.DataFrame({"rwptn": [None, None]}, dtype=object)) is None
