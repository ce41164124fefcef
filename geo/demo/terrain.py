"""Deterministic synthetic terrain, drainage and river network for a demo county.

The demo has no licensed DEM, so it builds a plausible one: spectral (fractal) noise plus
ridged noise plus a regional tilt, scaled to the 150–1000 m relief of the hills of Hunan, with
closed basins filled so water always drains out. The
hydrology functions (depression filling, D8 flow, accumulation, Strahler-ordered rivers, HAND,
slope) are written for any north-up lon/lat grid, so they also work on a real DEM read with
:func:`read_geotiff`.

D8 flow directions use the ESRI / ArcGIS power-of-two encoding (see :data:`D8_CODES`)::

    32  64  128
    16   .    1
     8   4    2

``0`` means "no receiver": the cell drains off the grid (an outlet) or is nodata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import affine
import geopandas as gpd
import numpy as np
import rasterio
import shapely
from pyproj import Geod
from scipy import fft as sp_fft
from scipy import ndimage
from scipy.sparse import coo_array
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

CRS_WGS84 = "EPSG:4326"
NODATA = -9999.0
SRTM_CELL_DEG = 1.0 / 1200.0  # 3 arc-seconds, ~90 m
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
BASIN_FLOOR_RISE_M = 0.05  # per cell on synthetic basin floors, a gentle alluvial slope
FLAT_EPSILON_M = 1e-5  # rise per cell across filled flats, so every cell has a lower neighbour

#: D8 codes in the order of :data:`D8_OFFSETS`: E, SE, S, SW, W, NW, N, NE (ESRI encoding).
D8_CODES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)
#: (row, col) step for each code; row 0 is north, so +1 row is south.
D8_OFFSETS: tuple[tuple[int, int], ...] = (
    (0, 1),
    (1, 1),
    (1, 0),
    (1, -1),
    (0, -1),
    (-1, -1),
    (-1, 0),
    (-1, 1),
)


@dataclass(frozen=True, eq=False)
class Dem:
    """A north-up elevation grid in geographic coordinates.

    ``eq=False`` because numpy arrays have no single truth value; compare fields explicitly.

    Attributes
    ----------
    elevation
        2-D float32 metres, row 0 = north; NaN marks nodata.
    transform
        Affine from (col, row) to (lon, lat) of the cell's upper-left corner.
    crs
        Always ``"EPSG:4326"`` for grids made here.
    """

    elevation: np.ndarray
    transform: affine.Affine
    crs: str = CRS_WGS84

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        return self.elevation.shape  # type: ignore[return-value]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the grid's outer edges, in degrees."""
        rows, cols = self.shape
        t = self.transform
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    @property
    def cell_size_deg(self) -> float:
        """Cell width in degrees (cells made here are square in degrees)."""
        return float(self.transform.a)

    def row_latitudes(self) -> np.ndarray:
        """Latitude of each row's cell centres, so per-row metric sizes can be derived."""
        t = self.transform
        return t.f + (np.arange(self.shape[0]) + 0.5) * t.e

    def cell_area_km2(self) -> np.ndarray:
        """True (spherical) area of one cell in each row, km², shape ``(rows,)``.

        Geographic cells shrink toward the poles as cos(latitude); using the exact band area
        ``R² Δλ (sin φ_n − sin φ_s)`` keeps upstream areas right for a province-sized grid.
        """
        t = self.transform
        north = t.f + np.arange(self.shape[0]) * t.e
        south = north + t.e
        dlon = math.radians(t.a)
        return (
            EARTH_RADIUS_KM**2
            * dlon
            * np.abs(np.sin(np.radians(north)) - np.sin(np.radians(south)))
        )

    def _cell_metres(self) -> tuple[np.ndarray, float]:
        """Per-row cell width (m) and constant cell height (m) of this grid."""
        dy = math.radians(abs(self.transform.e)) * EARTH_RADIUS_KM * 1000.0
        dx = (
            math.radians(self.transform.a)
            * EARTH_RADIUS_KM
            * 1000.0
            * np.cos(np.radians(self.row_latitudes()))
        )
        return dx, dy


@dataclass(frozen=True, eq=False)
class Drainage:
    """Result of :func:`drainage`.

    Attributes
    ----------
    filled
        float64 depression-filled elevation (m). Flats are given a tiny gradient
        (:data:`FLAT_EPSILON_M` per cell) so they drain; float64 keeps that gradient.
    flow_dir
        uint8 D8 codes (ESRI encoding, see module docstring); 0 = outlet or nodata.
    flow_acc
        int64 number of cells draining through each cell, the cell itself included.
    upstream_area_km2
        float64 true area (km²) of those cells, with cos(latitude) cell areas.
    """

    filled: np.ndarray
    flow_dir: np.ndarray
    flow_acc: np.ndarray
    upstream_area_km2: np.ndarray


# --------------------------------------------------------------------------- synthesis


def _grid_for(
    bounds: tuple[float, float, float, float], cell: float, max_cells: int
) -> tuple[float, float, float, int, int]:
    """Snap a grid (cell, west, north, rows, cols) over ``bounds`` plus a margin."""
    minx, miny, maxx, maxy = bounds
    margin = 0.02 * max(maxx - minx, maxy - miny)
    for _ in range(100):
        m = margin + 2 * cell
        west = math.floor((minx - m) / cell) * cell
        north = math.ceil((maxy + m) / cell) * cell
        cols = math.ceil((maxx + m - west) / cell)
        rows = math.ceil((north - (miny - m)) / cell)
        if rows * cols <= max_cells:
            return cell, west, north, rows, cols
        cell *= math.sqrt(rows * cols / max_cells) * 1.001
    raise ValueError(f"cannot fit a grid of at most {max_cells} cells")  # pragma: no cover


def _synth_surface(
    rows: int, cols: int, cell_deg: float, lat0: float, rng: np.random.Generator
) -> np.ndarray:
    """Unscaled terrain surface (float64) built from filtered white noise in cycles/km.

    Frequencies are in physical units so features keep their size in km whatever the grid
    resolution; the noise is generated on a padded grid and cropped so that FFT wrap-around
    does not join opposite edges.
    """
    dy_km = math.radians(cell_deg) * EARTH_RADIUS_KM
    dx_km = dy_km * math.cos(math.radians(lat0))
    pad = max(16, int(0.1 * max(rows, cols)))
    pr = sp_fft.next_fast_len(rows + 2 * pad, real=True)
    pc = sp_fft.next_fast_len(cols + 2 * pad, real=True)

    # Ridges strike NE-SW as in the Xuefeng and Wuling ranges; the regional tilt runs along
    # the strike so the valleys between ridges drain out instead of forming closed basins.
    strike = math.radians(45.0 + rng.uniform(-20.0, 20.0))  # clockwise from north
    theta = strike + math.pi * int(rng.integers(0, 2)) + math.radians(rng.uniform(-25.0, 25.0))
    spec = sp_fft.rfft2(rng.standard_normal((pr, pc)))
    ky = np.fft.fftfreq(pr, d=dy_km)[:, None]
    kx = np.fft.rfftfreq(pc, d=dx_km)[None, :]
    k = np.hypot(kx, ky)  # cycles per km

    def field(amplitude: np.ndarray) -> np.ndarray:
        f = sp_fft.irfft2(spec * amplitude, s=(pr, pc))[pad : pad + rows, pad : pad + cols]
        sd = f.std()
        return (f - f.mean()) / (sd if sd > 0 else 1.0)

    def band(wavelength_km: float, width: float = 0.5) -> np.ndarray:
        """Log-normal band-pass around one wavelength."""
        with np.errstate(divide="ignore"):
            logk = np.log(k * wavelength_km)
        return np.where(k > 0, np.exp(-0.5 * (logk / width) ** 2), 0.0)

    # Frequency across and along the strike; ky counts per km southward (rows run south).
    k_across = np.abs(kx * math.cos(strike) + ky * math.sin(strike))
    k_along = kx * math.sin(strike) - ky * math.cos(strike)

    def folds(wavelength_km: float, length_km: float) -> np.ndarray:
        """Band-pass across the strike, long-wave only along it: parallel ridges."""
        with np.errstate(divide="ignore"):
            logk = np.log(k_across * wavelength_km)
        across = np.where(k_across > 0, np.exp(-0.5 * (logk / 0.4) ** 2), 0.0)
        return across * np.exp(-0.5 * (k_along * length_km) ** 2)

    # Fractal (fBm-like) base: amplitude ~ k^-1.7 with a roll-off at ~40 km.
    fbm = field((k**2 + (1.0 / 40.0) ** 2) ** -0.85 * (k > 0))
    # Ridged noise: ridges where band-limited noise crosses zero (1 - |n|).
    ridge1 = np.clip(1.0 - np.abs(field(folds(12.0, 25.0))) / 2.0, 0.0, 1.0) ** 2
    ridge2 = np.clip(1.0 - np.abs(field(folds(4.0, 6.0))) / 2.0, 0.0, 1.0) ** 2
    # Mountain mask: some districts are hill country, others low basins.
    mountains = 1.0 / (1.0 + np.exp(-1.6 * field(band(45.0, 0.6))))
    fine = field(band(1.2, 0.7))

    south_km = (np.arange(rows)[:, None] - rows / 2) * dy_km
    east_km = (np.arange(cols)[None, :] - cols / 2) * dx_km
    ramp = -(east_km * math.sin(theta) - south_km * math.cos(theta))  # falls toward theta
    span = np.ptp(ramp)
    ramp = ramp / span if span > 0 else ramp * 0.0

    return (
        0.9 * fbm
        + mountains * (3.2 * ridge1 + 0.9 * ridge2)
        + 0.1 * fine * (0.2 + mountains)
        + 3.0 * ramp
    )


def synth_dem(
    outline: shapely.Polygon | shapely.MultiPolygon,
    *,
    seed: int,
    cell_deg: float | None = None,
    max_cells: int = 2_000_000,
) -> Dem:
    """Make a deterministic, plausible DEM of Hunan-like hills over an outline's bounds.

    The demo needs terrain that looks and behaves like the real thing (ridges, valleys, water
    leaving the county) without shipping licensed elevation data; a seed makes the same county
    look the same in every run, test and screenshot.

    Ridges strike NE–SW (±20°) like the Xuefeng and Wuling ranges, and the regional tilt runs
    along the strike. Noise terrain still has closed basins (~40 % of cells), unlike eroded
    land, so they are filled with a gentle floor gradient (:data:`BASIN_FLOOR_RISE_M` per cell):
    they become flat basin plains, as in Hunan's intermontane basins, and the DEM has no pits.

    Parameters
    ----------
    outline
        County or province outline in WGS 84 lon/lat; only its bounds are used.
    seed
        Seed for :func:`numpy.random.default_rng`; same inputs give byte-identical output.
    cell_deg
        Cell size in degrees; default 3 arc-seconds (1/1200°, ~90 m, as SRTM).
    max_cells
        Upper bound on rows*cols; the cell is enlarged until the grid fits (also when
        ``cell_deg`` is given), which keeps a province-sized outline fast.

    Returns
    -------
    Dem
        float32 elevations roughly 150–1000 m, EPSG:4326, row 0 = north.
    """
    if outline.is_empty:
        raise ValueError("outline is empty")
    cell0 = SRTM_CELL_DEG if cell_deg is None else float(cell_deg)
    if not cell0 > 0:
        raise ValueError("cell_deg must be positive")
    bounds = tuple(float(b) for b in outline.bounds)
    cell, west, north, rows, cols = _grid_for(bounds, cell0, max_cells)  # type: ignore[arg-type]
    lat0 = 0.5 * (bounds[1] + bounds[3])

    rng = np.random.default_rng(seed)
    low = 140.0 + 40.0 * rng.random()  # valley floor at the outlet, m
    high = 930.0 + 70.0 * rng.random()  # highest summit, m
    surface = _synth_surface(rows, cols, cell, lat0, rng)
    lo, hi = surface.min(), surface.max()
    t = (surface - lo) / (hi - lo if hi > lo else 1.0)
    # A power > 1 widens valley floors and sharpens summits, as in eroded hill country.
    elevation = low + (high - low) * t**1.35
    elevation = _fill_depressions(elevation, BASIN_FLOOR_RISE_M, diagonals=False).astype(np.float32)
    return Dem(elevation, affine.Affine(cell, 0.0, west, 0.0, -cell, north), CRS_WGS84)


# --------------------------------------------------------------------------- GeoTIFF


def write_geotiff(dem: Dem, path: str | Path) -> Path:
    """Write a tiled, deflate-compressed float32 GeoTIFF so GIS tools and the web map read it.

    NaN cells are written as the nodata value ``-9999``.
    """
    path = Path(path)
    data = np.where(np.isfinite(dem.elevation), dem.elevation, NODATA).astype(np.float32)
    rows, cols = dem.shape
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": "float32",
        "crs": dem.crs,
        "transform": dem.transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def read_geotiff(path: str | Path) -> Dem:
    """Read a single-band north-up GeoTIFF into a :class:`Dem`; nodata becomes NaN.

    Used to reload a demo DEM, or to run the same hydrology on a real DEM.
    """
    with rasterio.open(path) as src:
        t = src.transform
        if t.b != 0 or t.d != 0 or t.e >= 0:
            raise ValueError(f"{path}: only north-up grids are supported")
        band = src.read(1, masked=True)
        elevation = band.astype(np.float32).filled(np.nan)
        crs = src.crs.to_string() if src.crs is not None else CRS_WGS84
    return Dem(elevation, t, crs)


# --------------------------------------------------------------------------- hydrology


def _shift_slice(d: int, n: int) -> slice:
    """Slice of the cells reached by stepping ``d`` along an axis of length ``n``."""
    return slice(max(0, d), n + min(0, d))


def _fill_depressions(
    z: np.ndarray, epsilon: float = FLAT_EPSILON_M, *, diagonals: bool = True
) -> np.ndarray:
    """Priority-Flood fill with an epsilon gradient, via a minimum spanning tree.

    Priority-Flood (Barnes et al. 2014) is Prim's algorithm on the cell graph whose edges
    weigh ``max(z_u, z_v)``, grown from a virtual node joined to every edge cell: a cell's
    filled level is the minimax elevation on its tree path to the outside. We build the same
    tree with scipy's compiled Kruskal (a Python heap would take ~10 s on 2M cells), then
    evaluate ``F(c) = max(z_c, F(parent) + eps)`` for all cells by pointer jumping.

    With ``diagonals=False`` the tree uses 4-neighbour steps only: half the edges, and the
    result still has a strictly lower 4-neighbour, hence no D8 pit, at every inner cell.
    """
    rows, cols = z.shape
    n = rows * cols
    root = n
    valid = np.isfinite(z)
    flat = z.ravel().astype(np.float64)
    zmin = float(np.nanmin(flat))
    # Weights must be > 0: scipy treats explicit zeros as missing edges.
    w_node = np.where(valid, z - zmin + 1.0, np.inf)
    itype = np.int32 if n + 1 < 2**31 else np.int64
    idx = np.arange(n, dtype=itype).reshape(rows, cols)

    us, vs, ws = [], [], []
    steps = ((0, 1), (1, 0), (1, 1), (1, -1)) if diagonals else ((0, 1), (1, 0))
    for dr, dc in steps:
        src = (_shift_slice(-dr, rows), _shift_slice(-dc, cols))
        dst = (_shift_slice(dr, rows), _shift_slice(dc, cols))
        w = np.maximum(w_node[src], w_node[dst]).ravel()
        keep = np.isfinite(w)
        us.append(idx[src].ravel()[keep])
        vs.append(idx[dst].ravel()[keep])
        ws.append(w[keep])
    boundary = valid & ~ndimage.binary_erosion(valid, np.ones((3, 3), bool), border_value=0)
    b = idx[boundary]
    us.append(b)
    vs.append(np.full(b.size, root, dtype=itype))
    ws.append(w_node[boundary])
    graph = coo_array(
        (np.concatenate(ws), (np.concatenate(us), np.concatenate(vs))), shape=(n + 1, n + 1)
    ).tocsr()
    tree = minimum_spanning_tree(graph)
    _, pred = breadth_first_order(tree, root, directed=False, return_predecessors=True)

    # F(c) = g_c(F(parent)) with g_c(x) = max(a_c, x + b_c); composing two such maps gives
    # another (a, b) pair, so pointer jumping composes whole paths in log2(depth) rounds.
    anc = pred.astype(np.int64)
    anc[anc < 0] = root  # the root itself and nodata cells
    a_ = np.append(np.where(valid.ravel(), flat, -np.inf), -np.inf)
    b_ = np.full(n + 1, epsilon)
    b_[root] = 0.0
    act = np.flatnonzero(anc != root)
    while act.size:
        up = anc[act]
        a_[act] = np.maximum(a_[act], a_[up] + b_[act])
        b_[act] += b_[up]
        anc[act] = anc[up]
        act = act[anc[act] != root]
    filled = a_[:n]
    filled[~valid.ravel()] = np.nan
    return filled.reshape(rows, cols)


def _d8_directions(filled: np.ndarray, dx: np.ndarray, dy: float) -> np.ndarray:
    """Steepest-descent D8 codes on a filled surface; 0 where no neighbour is lower."""
    rows, cols = filled.shape
    padded = np.pad(np.where(np.isfinite(filled), filled, np.inf), 1, constant_values=np.inf)
    best = np.zeros(filled.shape)
    code = np.zeros(filled.shape, dtype=np.uint8)
    with np.errstate(invalid="ignore"):
        for k, (dr, dc) in zip(D8_CODES, D8_OFFSETS, strict=True):
            nb = padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
            dist = np.hypot(dr * dy, dc * dx)[:, None]
            slope = (filled - nb) / dist
            better = slope > best  # strict: ties keep the earlier direction
            best = np.where(better, slope, best)
            code[better] = k
    return code


def receivers(flow_dir: np.ndarray) -> np.ndarray:
    """Flat index of each cell's D8 receiver, -1 for outlets and nodata.

    The flat-index form makes downstream walks and accumulation plain array indexing.
    """
    rows, cols = flow_dir.shape
    r, c = np.indices(flow_dir.shape)
    recv = np.full(flow_dir.shape, -1, dtype=np.int64)
    for k, (dr, dc) in zip(D8_CODES, D8_OFFSETS, strict=True):
        m = flow_dir == k
        rr, cc = r[m] + dr, c[m] + dc
        inside = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        target = np.where(inside, rr * cols + cc, -1)
        recv[m] = target
    return recv.ravel()


def _accumulate(recv: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sum ``weights`` (shape (n, k)) over each cell's upstream cells, itself included.

    Processes the flow graph in waves from the sources (Kahn's topological order): each wave
    hands its finished totals to the receivers, so the Python loop runs once per cell of the
    longest flow path, not once per cell.
    """
    n = recv.size
    acc = weights.astype(np.float64).copy()
    has_recv = recv >= 0
    indeg = np.bincount(recv[has_recv], minlength=n)
    frontier = np.flatnonzero(indeg == 0)
    while frontier.size:
        tgt = recv[frontier]
        m = tgt >= 0
        src, tgt = frontier[m], tgt[m]
        if not src.size:
            break
        uniq, inv = np.unique(tgt, return_inverse=True)
        for j in range(acc.shape[1]):
            acc[uniq, j] += np.bincount(inv, weights=acc[src, j], minlength=uniq.size)
        indeg[uniq] -= np.bincount(inv, minlength=uniq.size)
        frontier = uniq[indeg[uniq] == 0]
    return acc


def drainage(dem: Dem) -> Drainage:
    """Fill depressions, route D8 flow and accumulate it, so rivers and HAND can be derived.

    Depressions are filled Priority-Flood style (see :func:`_fill_depressions`) so every cell
    drains to the grid edge; D8 takes the steepest metric descent on the filled surface, with
    cell widths shrinking as cos(latitude). Cells on the grid edge with no lower neighbour, and
    only those, are outlets (code 0). NaN cells get code 0, accumulation 0 and area 0.
    """
    z = np.asarray(dem.elevation, dtype=np.float64)
    filled = _fill_depressions(z)
    dx, dy = dem._cell_metres()
    flow_dir = _d8_directions(filled, dx, dy)
    recv = receivers(flow_dir)
    valid = np.isfinite(z)
    area = np.broadcast_to(dem.cell_area_km2()[:, None], z.shape)
    weights = np.stack([valid.ravel(), np.where(valid, area, 0.0).ravel()], axis=1)
    acc = _accumulate(recv, weights)
    return Drainage(
        filled=filled,
        flow_dir=flow_dir,
        flow_acc=np.rint(acc[:, 0]).astype(np.int64).reshape(z.shape),
        upstream_area_km2=acc[:, 1].reshape(z.shape),
    )


def river_network(dem: Dem, drain: Drainage, *, min_area_km2: float = 5.0) -> gpd.GeoDataFrame:
    """Trace channel cells into Strahler-ordered river segments between confluences.

    Gives the demo a river layer consistent with its DEM (for stage gauges, flood zones and
    the map). A channel is every cell with upstream area >= ``min_area_km2``; since area grows
    downstream, channels form trees ending at outlets.

    Each segment runs from a channel head or a confluence down to the next confluence (whose
    point it includes, so segments join) or to an outlet, through cell centres.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``strahler`` (int), ``upstream_area_km2`` (at the segment's last own cell,
        i.e. just above the confluence it flows into), ``length_km`` (geodesic) and
        ``geometry`` (LineString), CRS EPSG:4326.
    """
    rows, cols = dem.shape
    n = rows * cols
    recv = receivers(drain.flow_dir)
    area = drain.upstream_area_km2.ravel()
    channel = area >= min_area_km2
    ch = np.flatnonzero(channel)
    empty = gpd.GeoDataFrame(
        {"strahler": [], "upstream_area_km2": [], "length_km": []},
        geometry=gpd.GeoSeries([], crs=CRS_WGS84),
        crs=CRS_WGS84,
    )
    if ch.size == 0:
        return empty

    ch_recv = recv[ch]
    to_channel = ch_recv >= 0
    ndon = np.bincount(ch_recv[to_channel], minlength=n)
    # Strahler order, upstream to downstream (filled elevation falls strictly downstream).
    order = ch[np.argsort(-drain.filled.ravel()[ch], kind="stable")]
    recv_l = recv.tolist()
    ndon_l = ndon.tolist()
    strahler: dict[int, int] = {}
    top: dict[int, int] = {}  # highest incoming order at a cell
    count: dict[int, int] = {}  # how many donors carry that order
    for i in order.tolist():
        s = 1 if ndon_l[i] == 0 else top[i] + (count[i] >= 2)
        strahler[i] = s
        r = recv_l[i]
        if r >= 0:
            t = top.get(r, 0)
            if s > t:
                top[r], count[r] = s, 1
            elif s == t:
                count[r] += 1

    starts = [i for i in order.tolist() if ndon_l[i] != 1]
    paths: list[list[int]] = []
    orders: list[int] = []
    last_own: list[int] = []
    for s in starts:
        path = [s]
        cur = s
        ended_at_confluence = False
        while True:
            nxt = recv_l[cur]
            if nxt < 0:
                break
            path.append(nxt)
            if ndon_l[nxt] != 1:
                ended_at_confluence = True
                break
            cur = nxt
        if len(path) < 2:
            continue  # a confluence that is itself an outlet: its tributaries end there
        paths.append(path)
        orders.append(strahler[s])
        last_own.append(path[-2] if ended_at_confluence else path[-1])
    if not paths:
        return empty

    cells = np.fromiter((c for p in paths for c in p), dtype=np.int64)
    lengths = np.array([len(p) for p in paths])
    t = dem.transform
    lon = t.c + (cells % cols + 0.5) * t.a
    lat = t.f + (cells // cols + 0.5) * t.e
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    geoms = shapely.linestrings(
        np.column_stack([lon, lat]), indices=np.repeat(np.arange(len(paths)), lengths)
    )
    _, _, step = Geod(ellps="WGS84").inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    step = np.append(step, 0.0)
    step[offsets[1:] - 1] = 0.0  # no step across segment boundaries
    length_km = np.add.reduceat(step, offsets[:-1]) / 1000.0
    return gpd.GeoDataFrame(
        {
            "strahler": np.array(orders, dtype=np.int64),
            "upstream_area_km2": area[np.array(last_own)],
            "length_km": length_km,
        },
        geometry=geoms,
        crs=CRS_WGS84,
    )


def height_above_drainage(dem: Dem, drain: Drainage, channel_mask: np.ndarray) -> np.ndarray:
    """Height Above Nearest Drainage (HAND), a simple proxy for flood susceptibility.

    Each cell's filled elevation minus the filled elevation of the first channel cell its
    D8 path reaches. Found for all cells at once by pointer jumping (log2 of the longest path
    in iterations). Channel cells get 0; cells whose path leaves the grid before reaching a
    channel, and nodata cells, get NaN.
    """
    if channel_mask.shape != dem.shape:
        raise ValueError("channel_mask must have the DEM's shape")
    n = channel_mask.size
    sentinel = n
    recv = receivers(drain.flow_dir)
    ch = channel_mask.ravel().astype(bool)
    target = np.where(ch, np.arange(n), np.where(recv >= 0, recv, sentinel))
    target = np.append(target, sentinel)
    while True:
        nxt = target[target]
        if np.array_equal(nxt, target):
            break
        target = nxt
    target = target[:n]
    filled = drain.filled.ravel()
    reached = (target != sentinel) & np.isfinite(filled)
    hand = np.full(n, np.nan)
    hand[reached] = filled[reached] - filled[target[reached]]
    return hand.reshape(dem.shape)


def slope_degrees(dem: Dem) -> np.ndarray:
    """Terrain slope in degrees, with metric cell sizes at each row's latitude.

    Slope feeds landslide and flash-flood susceptibility; computing it in degrees of arc
    directly would be wrong by a factor ~100,000, and ignoring cos(latitude) by ~12 % here.
    """
    z = np.asarray(dem.elevation, dtype=np.float64)
    dx, dy = dem._cell_metres()
    dz_dy = np.gradient(z, axis=0) / dy
    dz_dx = np.gradient(z, axis=1) / dx[:, None]
    return np.degrees(np.arctan(np.hypot(dz_dx, dz_dy))).astype(np.float32)
