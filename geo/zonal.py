"""Zonal statistics of grids over polygons, the fast way: cell weights computed once per grid.

Every rainfall grid of one product shares a grid definition (CRS, affine transform, shape), and
the villages change rarely. So the expensive geometry work — which cells each village touches
and how much of each — is done ONCE per (grid definition, villages version) with
`exactextract` (exact coverage fractions of each cell by each polygon) and kept as a
``scipy.sparse`` CSR matrix ``W`` (villages × cells). Each new grid is then

* mean      = ``W @ v`` / ``W @ valid``  (nodata cells excluded),
* coverage  = the share of the village's area covered by valid cells,
* max       = the largest valid value among the cells ``W``'s structure gives the village,

all three in one compiled pass over ``W`` (:mod:`riskmap.geo.zonal_kernel`, :meth:`stats`).

Weights are area-true: ``W[i, j] = coverage fraction × area of cell j``. In a projected CRS all
cells have the same area, so that is the plain fraction times a constant. In a geographic CRS the
cell area on the sphere is ``R² Δλ (sin φ_top − sin φ_bottom)`` — exactly the area of the cell
under the Lambert cylindrical equal-area map — which is also what exactextract's own ``mean``
uses for lon/lat rasters (checked in tests to 1e-6).

Grids must be north-up (row 0 at the top, no rotation): readers flip south-up grids first.
The matrix is cached on disk and in memory by :mod:`riskmap.geo.zonal_cache`
(:func:`~riskmap.geo.zonal_cache.weights_for`), so a new grid file costs only the products above.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from scipy import sparse

from riskmap.geo import zonal_kernel

EARTH_RADIUS_M = 6_371_008.8


def _as_crs(crs: CRS | str | int) -> CRS:
    return crs if isinstance(crs, CRS) else CRS.from_user_input(crs)


def check_north_up(transform: Affine) -> None:
    """Reject transforms the cell indexing below cannot handle (rotation, south-up)."""
    if transform.b != 0 or transform.d != 0:
        raise ValueError("rotated or sheared grids are not supported (transform has b/d terms)")
    if transform.a <= 0 or transform.e >= 0:
        raise ValueError("grid must be north-up with x increasing (a > 0, e < 0)")


def grid_definition_id(crs: CRS | str | int, transform: Affine, shape: tuple[int, int]) -> str:
    """A stable id of a grid definition: hash of CRS WKT, transform and shape.

    Floats are written with 10 significant digits so that the same grid read from coordinate
    centres (with float noise) and from a GeoTIFF header gets the same id.
    """
    wkt = _as_crs(crs).to_wkt()
    numbers = ",".join(f"{v:.10g}" for v in tuple(transform)[:6])
    text = f"{wkt}|{numbers}|{shape[0]}x{shape[1]}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cell_areas(transform: Affine, shape: tuple[int, int], crs: CRS) -> np.ndarray:
    """Area of one cell of each row (m² on the sphere for lon/lat grids, CRS units² otherwise)."""
    height = shape[0]
    if not crs.is_geographic:
        return np.full(height, abs(transform.a * transform.e))
    top = transform.f + transform.e * np.arange(height)
    bottom = top + transform.e
    top_r = np.radians(np.clip(top, -90, 90))
    bottom_r = np.radians(np.clip(bottom, -90, 90))
    return (
        EARTH_RADIUS_M**2 * np.radians(abs(transform.a)) * np.abs(np.sin(top_r) - np.sin(bottom_r))
    )


def _equal_area(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Geometries in a plane where area is proportional to true area (for area ratios only)."""
    if not crs.is_geographic:
        return geoms

    def sin_lat(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 1] = np.sin(np.radians(np.clip(coords[:, 1], -90, 90)))
        out[:, 0] = np.radians(coords[:, 0])
        return out

    return shapely.transform(geoms, sin_lat)


def reproject(geoms: Sequence[shapely.Geometry], src: CRS | str | int, dst: CRS) -> np.ndarray:
    """Polygons from ``src`` into ``dst`` (lon/lat order kept with always_xy)."""
    arr = np.asarray(geoms, dtype=object)
    src_crs = _as_crs(src)
    if src_crs.equals(dst):
        return arr
    tr = Transformer.from_crs(src_crs, dst, always_xy=True)

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(arr, fn)


def _window(
    bounds: np.ndarray, transform: Affine, shape: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """Rows and columns (r0, r1, c0, c1) of the grid touched by the bounding box, or None."""
    xmin, ymin, xmax, ymax = bounds
    c0 = int(np.floor((xmin - transform.c) / transform.a))
    c1 = int(np.ceil((xmax - transform.c) / transform.a))
    r0 = int(np.floor((ymax - transform.f) / transform.e))
    r1 = int(np.ceil((ymin - transform.f) / transform.e))
    c0, c1 = max(c0, 0), min(c1, shape[1])
    r0, r1 = max(r0, 0), min(r1, shape[0])
    if c0 >= c1 or r0 >= r1:
        return None
    return r0, r1, c0, c1


@dataclass(frozen=True)
class ZonalStats:
    """One grid's statistics per zone, in the weights' zone order (:meth:`ZonalWeights.stats`)."""

    mean: np.ndarray  # area-weighted mean of the valid cells; NaN where none
    max: np.ndarray  # largest valid value of the cells touched; NaN where none
    coverage: np.ndarray  # share of the zone's area over valid cells inside the grid (0..1)


@dataclass
class ZonalWeights:
    """Area-true cell weights of each zone (village) on one grid definition.

    Attributes
    ----------
    codes : zone identifiers, one per matrix row.
    matrix : CSR (zones × cells), ``coverage fraction × cell area``; cells numbered row-major
        over the whole grid (``row * width + col``), as ``values.ravel()`` numbers them.
    inside : share of each zone's area that lies inside the grid extent (1 when fully inside).
    shape : (height, width) of the grid.
    """

    codes: np.ndarray
    matrix: sparse.csr_matrix
    inside: np.ndarray
    shape: tuple[int, int]

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        geoms: Sequence[shapely.Geometry],
        codes: Sequence[str],
        grid_shape: tuple[int, int],
        transform: Affine,
        crs: CRS | str | int,
        geoms_crs: CRS | str | int = 4326,
    ) -> ZonalWeights:
        """Compute the weights with exactextract (exact coverage of each cell by each polygon).

        Polygons are reprojected into the grid's CRS with pyproj first, so the cells are exact
        and only the (much smaller) village edges bend. Only the window of the grid that the
        polygons touch is handed to exactextract, so a national grid costs no more than a
        county one.
        """
        import geopandas as gpd  # imported here: the statistics never need it
        from exactextract import exact_extract
        from exactextract.raster import NumPyRasterSource

        grid_crs = _as_crs(crs)
        check_north_up(transform)
        height, width = grid_shape
        geo = reproject(geoms, geoms_crs, grid_crs)
        n = len(geo)
        codes_arr = np.asarray(list(codes), dtype=object)
        empty = sparse.csr_matrix((n, height * width), dtype=np.float64)
        inside = _inside_share(geo, transform, grid_shape, grid_crs)
        win = _window(shapely.total_bounds(geo), transform, grid_shape) if n else None
        if win is None:
            return cls(codes_arr, empty, inside, (height, width))
        r0, r1, c0, c1 = win
        sub = transform @ Affine.translation(c0, r0)
        xmin, ymax = sub.c, sub.f
        xmax, ymin = xmin + sub.a * (c1 - c0), ymax + sub.e * (r1 - r0)
        raster = NumPyRasterSource(
            np.zeros((r1 - r0, c1 - c0), dtype=np.float32),
            xmin,
            ymin,
            xmax,
            ymax,
            srs_wkt=grid_crs.to_wkt(),
        )
        frame = gpd.GeoDataFrame({"zone": np.arange(n)}, geometry=list(geo), crs=grid_crs)
        out = exact_extract(
            raster, frame, ["cell_id", "coverage"], include_cols=["zone"], output="pandas"
        )
        areas = cell_areas(transform, grid_shape, grid_crs)
        rows, cols, vals = [], [], []
        sub_w = c1 - c0
        for zone, ids, cov in zip(out["zone"], out["cell_id"], out["coverage"], strict=True):
            ids = np.asarray(ids, dtype=np.int64)
            if ids.size == 0:
                continue
            grid_row = r0 + ids // sub_w
            cells = grid_row * width + c0 + ids % sub_w
            rows.append(np.full(ids.size, zone, dtype=np.int64))
            cols.append(cells)
            vals.append(np.asarray(cov, dtype=np.float64) * areas[grid_row])
        if not rows:
            return cls(codes_arr, empty, inside, (height, width))
        matrix = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, height * width),
        )
        matrix.eliminate_zeros()
        matrix.sort_indices()
        return cls(codes_arr, matrix, inside, (height, width))

    # -- statistics -------------------------------------------------------------------------

    def _flat(self, values: np.ndarray) -> np.ndarray:
        flat = np.asarray(values, dtype=np.float64).ravel()
        if flat.size != self.shape[0] * self.shape[1]:
            raise ValueError(f"values have {flat.size} cells, grid has {self.shape}")
        return flat

    def _cached(self, name: str, make: Callable[[], object]) -> object:
        """A structure derived from the (never changing) weights, computed on first use."""
        got = self.__dict__.get(name)
        if got is None:
            got = make()
            object.__setattr__(self, name, got)
        return got

    def stats(self, values: np.ndarray) -> ZonalStats:
        """Mean, max and coverage of one grid in one pass over the weights (nodata = NaN)."""
        m = self._cached("_checked_cache", self._checked)
        inside = self._cached("_inside_cache", lambda: np.ascontiguousarray(self.inside, float))
        mean, top, cover = zonal_kernel.zone_stats(
            m.indptr, m.indices, m.data, self._flat(values), self._row_sums(), inside
        )
        return ZonalStats(mean=mean, max=top, coverage=cover)

    def _checked(self) -> sparse.csr_matrix:
        """The matrix, once its CSR structure is checked: the compiled pass reads cells at its
        column indices unchecked (weights come back from .npz files)."""
        m = self.matrix
        m.check_format(full_check=True)  # indptr ordered, indices within the columns
        return m

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Area-weighted mean of the valid (non-NaN) cells of each zone; NaN if none: exactly
        ``W @ where(valid, v, 0) / W @ valid``."""
        return self.stats(values).mean

    def max(self, values: np.ndarray) -> np.ndarray:
        """Largest valid value among the cells each zone touches (any coverage > 0); NaN if none."""
        return self.stats(values).max

    def _row_sums(self) -> np.ndarray:
        """Total weight of each zone (cached: the weights never change). ``W @ 1``: the same
        additions in the same order as the valid weight of a grid without nodata, so such a
        grid's coverage is exactly 1 inside the grid."""
        return self._cached("_row_sums_cache", lambda: self.matrix @ np.ones(self.matrix.shape[1]))

    def coverage(self, valid_mask: np.ndarray) -> np.ndarray:
        """Share of each zone's area covered by valid cells (0..1); < 1 for zones partly
        outside the grid or over nodata cells."""
        valid = np.asarray(valid_mask, dtype=np.float64).ravel()
        return self._share(self.matrix @ valid)

    def _share(self, covered: np.ndarray) -> np.ndarray:
        total = self._row_sums()
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, covered / np.where(total > 0, total, 1.0), 0.0)
        return np.clip(share * self.inside, 0.0, 1.0)


def _inside_share(
    geoms: np.ndarray, transform: Affine, shape: tuple[int, int], crs: CRS
) -> np.ndarray:
    """Share of each polygon's (true) area that lies inside the grid's extent."""
    if len(geoms) == 0:
        return np.zeros(0)
    x0, y0 = transform.c, transform.f
    x1, y1 = x0 + transform.a * shape[1], y0 + transform.e * shape[0]
    extent = shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    clipped = shapely.intersection(geoms, extent)
    whole = shapely.area(_equal_area(geoms, crs))
    part = shapely.area(_equal_area(clipped, crs))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), 0.0)
    return np.clip(share, 0.0, 1.0)
