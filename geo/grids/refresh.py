"""Recompute village rain from the kept grid files for villages whose outline changed.

A reload that changes village outlines (or adds villages) makes their stored rain wrong (or
absent) while the grid files it came from are still in the data store. For every catalogued
grid period this recomputes those villages with the weights of the villages as they are now —
the same numbers an ingest of the same files would give today — and leaves every other
village's value as it was:

* a period stored as one array row (the usual case) is rewritten in the current village order:
  unchanged villages keep their stored value, changed ones get the new one;
* a period stored as village rows (several files of one period) has the changed villages' rows
  written again from its files in ingest order, with the ingest's rule (a later file replaces
  unless it covers the village less).

A file that is missing or no longer has the catalogued SHA-256 is not read: the villages keep
what they had, and the caller records that.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
from affine import Affine

from riskmap.geo.db.float8_arrays import Float8ArrayDumper
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.filehash import file_sha256
from riskmap.geo.grids.model import GridFile, GridReadError
from riskmap.geo.grids.units import to_mm
from riskmap.geo.grids.village_rain import current_weights, ensure_village_set, period_values

SQL = SqlFiles("riskmap.geo.grids.sql")
_NETCDF = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")


@dataclass
class Refreshed:
    """What a refresh did: periods rewritten, per village the periods recomputed, and the
    files that could not be read (path → reason)."""

    periods: int = 0
    villages: dict[str, int] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "periods": self.periods,
            "villages_recomputed": len(self.villages),
            "files_missing": sorted(self.missing),
        }


def refresh_village_rain(
    conn: psycopg.Connection, codes: set[str], cache_dir: Path | None
) -> Refreshed:
    """Recompute the rain of villages ``codes`` from every catalogued grid file (see the
    module docstring); call it after the villages changed, in the same transaction."""
    done = Refreshed()
    if not codes:
        return done
    periods: dict[tuple, list[dict]] = defaultdict(list)
    for row in SQL.rows(conn, "refresh_files.sql"):
        key = (row["product"], row["valid_start"], row["valid_end"], row["issued_at"])
        periods[key].append(row)
    grids: dict[str, GridFile | None] = {}
    for key, files in periods.items():
        values = [(f, _read(f, grids, done)) for f in files]
        readable = [(f, v) for f, v in values if v is not None]
        if not readable:
            continue
        first = readable[0][0]
        weights, _, version = current_weights(
            conn,
            first["grid_definition"],
            (first["height"], first["width"]),
            Affine(*first["transform"]),
            first["crs"],
            cache_dir,
        )
        pick = np.isin(weights.codes.astype(str), sorted(codes))
        if not pick.any():
            continue
        params = dict(zip(("product", "valid_start", "valid_end", "issued_at"), key, strict=True))
        computed = [(f, period_values(weights, v)) for f, v in readable]
        row = SQL.one(conn, "period_grid_row.sql", params)
        if row is not None:
            source = next((c for f, c in computed if f["id"] == row["source_ref"]), None)
            if source is None:
                continue  # the file this row came from is missing: its values stay
            _rewrite_row(conn, row, weights, pick, source, f"{first['grid_definition']}-{version}")
            written = weights.codes[pick & source[0]]
        else:
            written = _rewrite_rows(conn, params, weights.codes, pick, computed)
        done.periods += 1
        for code in written:
            done.villages[str(code)] = done.villages.get(str(code), 0) + 1
    return done


def _read(file: dict, grids: dict[str, GridFile | None], done: Refreshed) -> np.ndarray | None:
    """The period's values in mm, or None (recorded in ``done.missing``) when the stored file
    is gone or changed."""
    path = Path(file["path"])
    if file["path"] not in grids:
        grids[file["path"]] = None
        try:
            if file_sha256(path) != file["sha256"]:
                done.missing[file["path"]] = "content changed since it was ingested"
            else:
                grids[file["path"]] = _open(path)
        except (OSError, GridReadError) as exc:
            done.missing[file["path"]] = f"unreadable: {exc}"
    grid = grids[file["path"]]
    if grid is None:
        return None
    return to_mm(grid.read(file["step"]), file["to_mm"])[0]


def _open(path: Path) -> GridFile:
    from riskmap.geo.grids.geotiff import read_geotiff
    from riskmap.geo.grids.netcdf import read_netcdf

    with path.open("rb") as fh:
        head = fh.read(8)
    return read_netcdf(path) if head.startswith(_NETCDF) else read_geotiff(path)


def _rewrite_row(conn, row: dict, weights, pick: np.ndarray, source: tuple, set_id: str) -> None:
    """The array row in the current village order: stored values for unchanged villages,
    recomputed ones for ``pick``."""
    keep, mean_mm, max_mm, cov = source
    stored = {c: i for i, c in enumerate(row["codes"]) if c is not None}
    at = np.array([stored.get(str(c), -1) for c in weights.codes], dtype=np.int64)
    arrays = {}
    for name, column, new in (
        ("mean", "mean_mm", mean_mm),
        ("max", "max_mm", max_mm),
        ("coverage", "coverage", cov),
    ):
        old = np.append(np.asarray(row[column], dtype=float), np.nan)
        out = old[at]  # -1 → the NaN appended: a village the row had no value for
        out[pick] = np.where(keep[pick], new[pick], np.nan)
        arrays[name] = out
    ensure_village_set(conn, set_id, weights.codes)
    with conn.cursor() as cur:
        cur.adapters.register_dumper(np.ndarray, Float8ArrayDumper)
        cur.execute(
            SQL("period_grid_row_update.sql"), {"id": row["id"], "village_set": set_id, **arrays}
        )


def _rewrite_rows(conn, params: dict, codes: np.ndarray, pick: np.ndarray, computed) -> list:
    """The changed villages' rows of a period written again from its files, in ingest order."""
    chosen = [str(c) for c in codes[pick]]
    conn.execute(SQL("period_rows_forget.sql"), {**params, "codes": chosen})
    written: set[str] = set()
    for file, (keep, mean_mm, max_mm, cov) in computed:
        mask = pick & keep
        if not mask.any():
            continue
        conn.execute(
            SQL("village_rain.sql"),
            {
                **params,
                "codes": [str(c) for c in codes[mask]],
                "mean": [float(v) for v in mean_mm[mask]],
                "max": [float(v) for v in max_mm[mask]],
                "coverage": [float(v) for v in cov[mask]],
                "source_ref": file["id"],
                "ingest_id": file["ingest_id"],
            },
        )
        written.update(str(c) for c in codes[mask])
    return sorted(written)
