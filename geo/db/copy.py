"""Bulk loading of data frames with COPY (the fast path; row-by-row INSERT is far slower)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql


def copy_statement(table: str, columns: list[str], *, csv: bool = False) -> sql.Composed:
    """``COPY table (cols) FROM STDIN`` with every identifier quoted."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    return stmt + sql.SQL(" (FORMAT csv)") if csv else stmt


def _is_geometry(values: np.ndarray) -> bool:
    first = next((v for v in values if v is not None and v is not pd.NA), None)
    return isinstance(first, shapely.Geometry)


def column_values(series: pd.Series, srid: int) -> list:
    """Python values COPY understands: hex EWKB for geometries, JSON text for dicts (lists
    stay lists: psycopg writes them as arrays)."""
    values = series.to_numpy(dtype=object)
    if len(values) and _is_geometry(values):
        geoms = shapely.set_srid(np.asarray(values), srid)
        return list(shapely.to_wkb(geoms, hex=True, include_srid=True))
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT or v is pd.NA:
            out.append(None)
        elif isinstance(v, dict):
            out.append(json.dumps(v, ensure_ascii=False))
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def _csv_column(series: pd.Series, srid: int) -> pd.Series | None:
    """The column as CSV-ready values, or None when it holds values CSV cannot carry
    (dicts, lists, bytes): those frames take the row-by-row COPY."""
    if series.dtype == object:
        values = series.to_numpy(dtype=object)
        if len(values) and _is_geometry(values):
            geoms = shapely.set_srid(np.asarray(values), srid)
            return pd.Series(shapely.to_wkb(geoms, hex=True, include_srid=True), index=series.index)
        if any(isinstance(v, dict | list | tuple | bytes | set) for v in values):
            return None
        return series
    if pd.api.types.is_float_dtype(series.dtype):
        finite = series.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0) and finite.abs().max() < 2**53:
            return series.astype("Int64")  # "3", not "3.0": integer columns accept it
    return series


def copy_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame, srid: int = 4326) -> int:
    """Append ``frame`` to ``table`` (column names must be the table's); returns rows written.

    Frames of plain values go as one CSV stream built by pandas (vectorised, ~3x faster than
    writing rows one by one); frames with JSON or array values go row by row.
    """
    if frame.empty:
        return 0
    columns = [str(c) for c in frame.columns]
    converted = {c: _csv_column(frame[c], srid) for c in columns}
    with conn.cursor() as cur:
        if all(v is not None for v in converted.values()):
            buf = io.StringIO()
            pd.DataFrame(converted).to_csv(buf, header=False, index=False, na_rep="")
            with cur.copy(copy_statement(table, columns, csv=True)) as cp:
                cp.write(buf.getvalue())
        else:
            data = [column_values(frame[c], srid) for c in columns]
            with cur.copy(copy_statement(table, columns)) as cp:
                for row in zip(*data, strict=True):
                    cp.write_row(row)
    return len(frame)
