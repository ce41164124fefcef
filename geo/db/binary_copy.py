"""PostgreSQL binary COPY of plain data frames, encoded column-wise with numpy.

Building a CSV text with pandas costs about 5 µs a row and makes the server parse every number
and time again; the binary format is the column values as the server stores them, so a frame
of floats, integers, UTC times and short strings is encoded in a few vectorised passes and the
server only copies the bytes (issue 19: station rows). Frames with anything else (geometries,
dicts, lists, mixed objects) are not handled here: :func:`binary_payload` returns None and the
caller keeps the CSV path of :mod:`riskmap.geo.db.copy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported where a frame is encoded: the API's workers start without pandas
    import pandas as pd

# "PGCOPY\n\377\r\n\0", flags (no OIDs), header extension length; the trailer is a -1 count
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in µs since 1970, PostgreSQL's epoch
# the staging column type of each kind of column the encoder writes (fixed SQL, no input)
STAGING_TYPES = {
    "text": "text",
    "timestamptz": "timestamptz",
    "float8": "double precision",
    "int8": "bigint",
}


class _Column:
    """One column's per-row data bytes (``lengths`` -1 where NULL) and its staging type."""

    def __init__(self, pg_type: str, lengths: np.ndarray, data: np.ndarray, starts: np.ndarray):
        self.pg_type = pg_type
        self.lengths = lengths  # int64 per row, -1 for NULL
        self.data = data  # uint8: the non-NULL values' bytes, in row order
        self.starts = starts  # int64 per row: where its bytes start in ``data``


def _fixed(pg_type: str, values: np.ndarray, null: np.ndarray, big_endian: str) -> _Column:
    raw = np.ascontiguousarray(values[~null].astype(big_endian)).view(np.uint8)
    width = np.dtype(big_endian).itemsize
    lengths = np.where(null, -1, width).astype(np.int64)
    starts = (np.cumsum(~null) - 1).astype(np.int64) * width
    return _Column(pg_type, lengths, raw, starts)


def _text(series: pd.Series) -> _Column | None:
    import pandas as pd

    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # dicts, lists: unhashable, and not text anyway
        return None
    if len(uniques) == 0 or not all(isinstance(u, str) for u in uniques):
        # no value to tell text from numbers (an all-NULL column): the caller's CSV knows
        return None
    encoded = [u.encode("utf-8") for u in uniques]
    sizes = np.array([len(b) for b in encoded] + [-1], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(np.int64)
    pool = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    lengths = sizes[codes]
    starts = np.where(codes >= 0, offsets[np.maximum(codes, 0)] if len(offsets) else 0, 0)
    return _Column("text", lengths, pool, starts.astype(np.int64))


def _column(series: pd.Series) -> _Column | None:
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        ns = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
        null = np.isnat(ns)
        # to the microsecond, half to even as the server reads a fraction of a second
        us, rest = np.divmod(ns.astype(np.int64), 1000)
        us += (rest > 500) | ((rest == 500) & (us % 2 == 1))
        return _fixed("timestamptz", us - _PG_EPOCH_US, null, ">i8")
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return _fixed("float8", values, np.isnan(values), ">f8")
    if pd.api.types.is_integer_dtype(dtype):
        null = series.isna().to_numpy()
        values = series.to_numpy(dtype=np.int64, na_value=0)
        return _fixed("int8", values, null, ">i8")
    if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
        return _text(series)
    return None


def binary_payload(frame: pd.DataFrame) -> tuple[bytes, list[str]] | None:
    """The frame as one binary COPY stream, with each column's staging type; None when a
    column holds values this encoder does not write (the caller then uses CSV).

    Floats go as float8 (NaN is NULL), integers as int8, UTC times as timestamptz (to the
    microsecond), strings as text (None is NULL). The staging table takes these types and the
    target's assignment casts apply on the final INSERT (float8 → numeric reads the value to 15
    significant digits, as a decimal written in a file is).
    """
    cols = [_column(frame[c]) for c in frame.columns]
    if any(c is None for c in cols):
        return None
    n = len(frame)
    if n == 0:
        return HEADER + TRAILER, [c.pg_type for c in cols]  # type: ignore[union-attr]
    ncols = len(cols)
    # per row: 2-byte field count, then per field a 4-byte length and its bytes
    row_len = np.full(n, 2 + 4 * ncols, dtype=np.int64)
    for c in cols:
        row_len += np.maximum(c.lengths, 0)  # type: ignore[union-attr]
    row_start = len(HEADER) + np.concatenate([[0], np.cumsum(row_len[:-1])])
    total = len(HEADER) + int(row_len.sum()) + len(TRAILER)
    out = np.zeros(total, dtype=np.uint8)
    out[: len(HEADER)] = np.frombuffer(HEADER, dtype=np.uint8)
    out[-len(TRAILER) :] = np.frombuffer(TRAILER, dtype=np.uint8)
    count = np.frombuffer(np.array([ncols], dtype=">i2").tobytes(), dtype=np.uint8)
    out[row_start[:, None] + np.arange(2)] = count
    pos = row_start + 2
    four = np.arange(4)
    for c in cols:
        lengths = c.lengths.astype(">i4").view(np.uint8).reshape(n, 4)  # type: ignore[union-attr]
        out[pos[:, None] + four] = lengths
        pos = pos + 4
        _scatter(out, pos, c)  # type: ignore[arg-type]
        pos = pos + np.maximum(c.lengths, 0)  # type: ignore[union-attr]
    return out.tobytes(), [c.pg_type for c in cols]  # type: ignore[union-attr]


def _scatter(out: np.ndarray, pos: np.ndarray, col: _Column) -> None:
    """Copy each non-NULL row's bytes of ``col`` to ``out`` at that row's ``pos``."""
    sizes = np.maximum(col.lengths, 0)
    total = int(sizes.sum())
    if total == 0:
        return
    filled = col.lengths >= 0
    widths = np.unique(sizes[filled])
    if len(widths) == 1:  # one width (numbers, times, station codes): a 2-D gather
        step = np.arange(int(widths[0]))
        out[pos[filled][:, None] + step] = col.data[col.starts[filled][:, None] + step]
        return
    rows = np.repeat(np.arange(len(sizes)), sizes)  # the row of each byte to write
    within = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    out[pos[rows] + within] = col.data[col.starts[rows] + within]
