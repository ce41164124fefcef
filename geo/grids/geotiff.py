"""GeoTIFF rainfall grids: each band one period, told by tags or the file name (see ``tags``).

Rasterio is imported when a file is read, so that importing the grids package stays cheap.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS

from riskmap.geo.grids.model import GridFile, GridProblem, GridReadError, canonical_crs
from riskmap.geo.grids.tags import period_from_tags
from riskmap.geo.grids.units import parse_units


def _band_units(ds, bidx: int, tags: dict[str, str]) -> str | None:
    units = (ds.units[bidx - 1] or "").strip() if ds.units else ""
    band_tags = {k.lower(): v for k, v in ds.tags(bidx).items()}
    description = (ds.descriptions[bidx - 1] or "").strip() if ds.descriptions else ""
    for candidate in (units, band_tags.get("units"), band_tags.get("riskmap_units")):
        if candidate:
            return candidate
    if description:
        try:
            parse_units(description)
            return description
        except ValueError:
            m = re.search(r"[\(\[]([^\)\]]+)[\)\]]\s*$", description)  # "rain (mm)"
            if m:
                return m.group(1)
    return tags.get("RISKMAP_UNITS") or tags.get("UNITS")


def read_geotiff(path: Path) -> GridFile:
    """A GeoTIFF: each band one period; tags (or the file name) say which."""
    import rasterio
    from rasterio.errors import RasterioIOError

    name = path.name
    try:
        ds = rasterio.open(path)
    except RasterioIOError as exc:
        raise GridReadError(f"{name}: cannot be opened as GeoTIFF (truncated?): {exc}") from exc
    with ds:
        if ds.crs is None:
            raise GridReadError(
                f"{name}: grid with no CRS (no georeferencing); write one, e.g. EPSG:4326"
            )
        crs = canonical_crs(CRS.from_wkt(ds.crs.to_wkt()))
        tr = ds.transform
        if tr.b != 0 or tr.d != 0:
            raise GridReadError(f"{name}: rotated grids are not supported")
        flip_rows, flip_cols = tr.e > 0, tr.a < 0
        h, w = ds.height, ds.width
        north_up = Affine(
            abs(tr.a),
            0,
            tr.c + (tr.a * w if flip_cols else 0),
            0,
            -abs(tr.e),
            tr.f + (tr.e * h if flip_rows else 0),
        )
        tags = {k.upper(): v for k, v in ds.tags().items()}
        periods, units_of, problems = [], {}, []
        for bidx in range(1, ds.count + 1):
            band_tags = {**tags, **{k.upper(): v for k, v in ds.tags(bidx).items()}}
            own = any(k.startswith("RISKMAP_VALID") for k in ds.tags(bidx))
            if bidx > 1 and not own:
                problems.append(
                    GridProblem(f"band {bidx}", "RISKMAP_VALID_START", "band has no period tags")
                )
                continue
            period = period_from_tags(band_tags, name, bidx, f"band {bidx}")
            if period is None:
                raise GridReadError(
                    f"{name}: cannot tell the period: tag RISKMAP_PRODUCT, RISKMAP_VALID_START"
                    " and RISKMAP_VALID_END, or name the file …qpe_YYYYmmddHHMM_YYYYmmddHHMM…"
                )
            periods.append(period)
            units_of[bidx] = _band_units(ds, bidx, tags)
    unit_set = {u for u in units_of.values()}
    if len(unit_set) > 1:
        raise GridReadError(f"{name}: bands in different units {sorted(map(str, unit_set))}")
    units = next(iter(unit_set), None)

    def read(index: int) -> np.ndarray:
        with rasterio.open(path) as src:
            band = src.read(index, masked=True).astype(np.float64)
        values = band.filled(np.nan)
        if flip_rows:
            values = values[::-1, :]
        if flip_cols:
            values = values[:, ::-1]
        return values

    return GridFile(
        f"band {periods[0].index}" if len(periods) == 1 else "bands",
        units or "",
        crs,
        north_up,
        (h, w),
        periods,
        read,
        problems,
    )
