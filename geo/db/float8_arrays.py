"""numpy vectors ⇄ PostgreSQL ``float8[]`` in binary, one buffer per array.

Per-village values travel as one array per period (``village_rain_grid``, migration 0022): the
grid writer sends them and the rules read them back for every village at once, so neither may
pay a Python float per value.
"""

from __future__ import annotations

import struct

import numpy as np
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format

FLOAT8_OID, FLOAT8_ARRAY_OID = 701, 1022
_ELEMENTS = np.dtype([("len", ">i4"), ("value", ">f8")])


class Float8ArrayDumper(Dumper):
    """numpy float64 vector → binary ``float8[]`` in one buffer (no Python float per value).

    Register it on a cursor (``cur.adapters.register_dumper(np.ndarray, Float8ArrayDumper)``)
    and pass the array with a ``%(name)b`` placeholder.
    """

    format = Format.BINARY
    oid = FLOAT8_ARRAY_OID

    def dump(self, obj: np.ndarray) -> bytes:
        values = np.ascontiguousarray(obj, dtype=np.float64).ravel()
        if values.size == 0:
            return struct.pack("!iiI", 0, 0, FLOAT8_OID)
        body = np.empty(values.size, dtype=_ELEMENTS)
        body["len"] = 8
        body["value"] = values
        return struct.pack("!iiIii", 1, 0, FLOAT8_OID, values.size, 1) + body.tobytes()


class Float8ArrayLoader(Loader):
    """Binary ``float8[]`` (one dimension) → numpy float64 vector; NULL elements → NaN.

    Register it on a binary cursor: ``cur.adapters.register_loader(FLOAT8_ARRAY_OID, ...)``.
    """

    format = Format.BINARY

    def load(self, data) -> np.ndarray:
        buf = memoryview(data)
        ndim, has_null, _ = struct.unpack_from("!iiI", buf, 0)
        if ndim == 0:
            return np.zeros(0)
        if ndim != 1:
            raise ValueError(f"expected a one-dimensional float8[], got {ndim} dimensions")
        (n,) = struct.unpack_from("!i", buf, 12)
        if not has_null:
            return np.frombuffer(buf, dtype=_ELEMENTS, count=n, offset=20)["value"].astype(
                np.float64
            )
        out = np.full(n, np.nan)
        pos = 20
        for i in range(n):
            (size,) = struct.unpack_from("!i", buf, pos)
            pos += 4
            if size >= 0:
                (out[i],) = struct.unpack_from("!d", buf, pos)
                pos += size
        return out
