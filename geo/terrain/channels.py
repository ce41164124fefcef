"""What the flow grid's channels give: a Strahler-ordered river network and HAND.

A channel is every cell whose upstream area passes a threshold; rivers for the map and stations
and the height above the nearest channel (flood susceptibility) both start from that mask.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod

from riskmap.geo.terrain.dem import CRS_WGS84, Dem
from riskmap.geo.terrain.flow import Drainage, receivers


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
