"""MICAPS type 4 and GRIB files as grid parts: converted to CF-NetCDF in the data store, then
read back by the NetCDF reader, so what villages get is what any later reader of the store gets.

The converted file is written (atomically) during parsing, at its place in the data store:
``<data_dir>/grids/<yyyy>/<mm>/<dd>/<source sha256 prefix>-<source name>[.<n>].nc`` (one per
grid definition of the source; a GRIB file may hold several). Its name carries the source's
content hash, so an ingest that is rolled back leaves at most a file the next ingest of the
same source reuses.
"""

from __future__ import annotations

from pathlib import Path

from riskmap.geo.filehash import file_sha256
from riskmap.geo.grids.model import GridReadError
from riskmap.geo.grids.netcdf import read_netcdf
from riskmap.ingest.batch import Context, FeedReadError, Problem
from riskmap.ingest.feeds.grids.cf_write import CfGrid, write_cf_netcdf
from riskmap.ingest.feeds.grids.parts import GridPart, grid_part
from riskmap.ingest.feeds.grids.sniff import GRIB_MAGIC


def _source_grids(path: Path, head: bytes) -> tuple[list[CfGrid], list[Problem]]:
    """The rain grids of a GRIB or MICAPS type 4 file and the messages/records left out."""
    if head.startswith(GRIB_MAGIC):
        from riskmap.ingest.feeds.grib.read import read_grib  # eccodes: only when needed

        return read_grib(path)
    from riskmap.ingest.feeds.micaps.grid4 import read_micaps4

    return read_micaps4(path)


def converted_parts(path: Path, head: bytes, ctx: Context) -> tuple[list[GridPart], list[Problem]]:
    """One grid part per grid of the source, each read back from its converted NetCDF."""
    grids, problems = _source_grids(path, head)
    sha = file_sha256(path)
    parts: list[GridPart] = []
    for n, grid in enumerate(grids, start=1):
        grid.source = f"{path.name} (sha256 {sha})"
        first = min(p.start for p in grid.periods)
        suffix = f".{n}.nc" if len(grids) > 1 else ".nc"
        out = ctx.data_dir / "grids" / first.strftime("%Y/%m/%d") / f"{sha[:16]}-{path.name}"
        out = out.with_name(out.name + suffix)
        if not out.exists():
            write_cf_netcdf(grid, out)
        try:
            read = read_netcdf(out)
        except GridReadError as exc:  # our own conversion unreadable: say so, never load half
            raise FeedReadError(f"{path.name}: converted grid {out.name}: {exc}") from exc
        for period in read.periods:
            period.label = grid.periods[period.index].label
        try:
            part = grid_part(read, file_sha256(out), path.name)
        except FeedReadError as exc:
            if len(grids) == 1:
                raise
            # one grid of several with no valid cell: quarantined, the other grids load
            problems.append(Problem(grid.periods[0].label, grid.variable, f"not loaded: {exc}"))
            continue
        part.stored = out
        parts.append(part)
        problems.extend(part.problems)
    if not parts:
        reasons = "; ".join(str(p) for p in problems)
        raise FeedReadError(f"{path.name}: no grid with a valid cell ({reasons})")
    return parts, problems
