"""Bulk loading of data frames with COPY (the fast path; row-by-row INSERT is ~20x slower)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql


def copy_statement(table: str, columns: Iterable[str]) -> sql.Composed:
    """``COPY table (cols) FROM STDIN`` with every identifier quoted."""
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )


def column_values(series: pd.Series, srid: int) -> list:
    """Python values COPY understands: hex EWKB for geometries, JSON text for dicts (lists
    stay lists: psycopg writes them as arrays)."""
    values = series.to_numpy(dtype=object)
    if len(values) and isinstance(
        next((v for v in values if v is not None), None), shapely.Geometry
    ):
        geoms = shapely.set_srid(np.asarray(values), srid)
        return list(shapely.to_wkb(geoms, hex=True, include_srid=True))
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
            out.append(None)
        elif isinstance(v, dict):
            out.append(json.dumps(v, ensure_ascii=False))
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def copy_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame, srid: int = 4326) -> int:
    """Append ``frame`` to ``table`` (column names must be the table's); returns rows written."""
    if frame.empty:
        return 0
    columns = [str(c) for c in frame.columns]
    data = [column_values(frame[c], srid) for c in columns]
    with conn.cursor() as cur, cur.copy(copy_statement(table, columns)) as cp:
        for row in zip(*data, strict=True):
            cp.write_row(row)
    return len(frame)
