"""The dam's downstream path and villages on a small hand-built DEM whose answer is known.

The DEM lies on the equator (cells of 0.001°), so one east step is 0.001° of the WGS 84
equator: 2π · 6 378 137 m / 360 / 1000 = 111.3195 m, and 0.001° of latitude there is
110.574 m (the meridian degree at the equator). A plane falls 2 m per cell eastward; a valley
rises 5 m per row away from its channel on row 5, so steepest descent runs straight east along
row 5. A 300 m rim closes the north, south and west edges. The dam stands on (row 5, col 2)
at 196 m.
"""

from __future__ import annotations

import math

import affine
import numpy as np
import pytest
import shapely

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.terrain.dem import Dem
from riskmap.geo.worksafety.downstream import flow_path, threatened_villages

ROWS, COLS = 11, 30
CELL = 0.001
WEST, NORTH = 110.0, 0.01
EAST_STEP_M = 2 * math.pi * 6378137.0 / 360 * CELL  # 111.3195 m
NORTH_STEP_M = 110.574  # m per 0.001° of latitude at the equator (110.574 km per degree)
DAM = (WEST + 2.5 * CELL, NORTH - 5.5 * CELL)  # centre of (5, 2)


def valley() -> np.ndarray:
    r, c = np.indices((ROWS, COLS))
    z = 200.0 - 2.0 * c + 5.0 * np.abs(r - 5)
    z[[0, -1], :] = z[:, 0] = 300.0  # a rim north, south and west: water leaves only eastward
    return z.astype(np.float32)


def dem_of(z: np.ndarray) -> Dem:
    return Dem(z, affine.Affine(CELL, 0, WEST, 0, -CELL, NORTH))


def cells_of(path) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in divmod(int(c), COLS)) for c in path.cells]


def box(w: float, s: float, e: float, n: float) -> shapely.Polygon:
    return shapely.box(WEST + w * CELL, NORTH - n * CELL, WEST + e * CELL, NORTH - s * CELL)


def test_channel_path_runs_east_to_the_edge_with_known_distances():
    path = flow_path(dem_of(valley()), *DAM, dam_height_m=30)
    assert cells_of(path) == [(5, c) for c in range(2, COLS)]
    assert path.stop_reason == "edge"
    assert path.toe_elevation_m == 196.0 and path.crest_elevation_m == 226.0
    expected = [k * EAST_STEP_M for k in range(COLS - 2)]
    assert path.distance_m == pytest.approx(expected, rel=1e-6)
    assert path.elevation.tolist() == [200.0 - 2 * c for c in range(2, COLS)]


def test_distance_limit_keeps_the_steps_within_it():
    # 8 steps = 890.6 m ≤ 1000 m < 9 steps = 1001.9 m
    path = flow_path(dem_of(valley()), *DAM, dam_height_m=30, max_distance_m=1000)
    assert cells_of(path) == [(5, c) for c in range(2, 11)]
    assert path.stop_reason == "distance"
    assert path.length_m == pytest.approx(8 * EAST_STEP_M, rel=1e-6)


def test_a_sill_above_the_crest_stops_the_path_and_one_below_is_crossed():
    z = valley()
    z[:, 15] += 40.0  # a ridge across the valley: its lowest point (5, 15) is 170 + 40 = 210 m
    low_dam = flow_path(dem_of(z), *DAM, dam_height_m=10)  # crest 206 < 210
    assert low_dam.stop_reason == "above_crest"
    assert max(c for _, c in cells_of(low_dam)) < 15
    assert (low_dam.elevation < 206.0).all()
    high_dam = flow_path(dem_of(z), *DAM, dam_height_m=30)  # crest 226 > 210: over the sill
    assert high_dam.stop_reason == "edge"
    assert (5, 15) in cells_of(high_dam)
    assert cells_of(high_dam)[-1] == (5, COLS - 1)


def test_a_pit_below_the_crest_is_crossed():
    z = valley()
    z[5, 8] = 150.0  # a 34 m deep pit in the channel (neighbours 184 m and up)
    path = flow_path(dem_of(z), *DAM, dam_height_m=30)
    assert (5, 8) in cells_of(path) and path.stop_reason == "edge"


def test_a_flat_reach_is_crossed():
    z = valley()
    # five level cells in the channel at 176 m (as (5, 12) was); every side cell is higher
    # (≥ 181 m), so the water crosses the level reach along the channel
    z[5, 8:13] = 176.0
    path = flow_path(dem_of(z), *DAM, dam_height_m=30)
    assert cells_of(path) == [(5, c) for c in range(2, COLS)]
    assert path.stop_reason == "edge"


def test_a_sink_beside_a_nodata_hole_stops_the_path():
    z = valley()
    z[5, 12] = np.nan  # a masked lake: (5, 11) at 178 m has no lower valid neighbour
    path = flow_path(dem_of(z), *DAM, dam_height_m=30)
    assert cells_of(path) == [(5, c) for c in range(2, 12)]
    assert path.stop_reason == "sink"


def test_villages_in_order_with_the_buffer_and_the_crest():
    z = valley()
    z[2:4, 20:23] = 250.0  # a knoll north of the channel, above the crest
    dem = dem_of(z)
    path = flow_path(dem, *DAM, dam_height_m=30)
    apex = (WEST + 16.3 * CELL, NORTH - 3.5 * CELL)  # 2 rows north of the channel line
    villages = {
        # across the channel at cols 6-7: the path enters it at lon 110.0060, 3.5 cells on
        "V1": box(6.0, 4.0, 8.0, 7.0),
        # a triangle pointing at the channel from the north, apex 0.002° from it
        "V2": shapely.Polygon(
            [apex, (apex[0] - 0.001, apex[1] + 0.002), (apex[0] + 0.001, apex[1] + 0.002)]
        ),
        "V3": box(20.0, 2.0, 23.0, 4.0),  # on the knoll, 0.0015° from the channel: too high
        "V4": box(10.0, 0.5, 12.0, 2.0),  # 0.0035° = 387 m north: outside the 300 m buffer
        "V5": box(25.0, 4.0, 27.0, 7.0),  # across the channel further down
        "V0": box(0.0, 4.0, 1.5, 7.0),  # behind the dam (its pond side): not downstream
    }
    got = threatened_villages(
        path,
        dem,
        list(villages),
        [f"村{k}" for k in villages],
        list(villages.values()),
        start=DAM,
        buffer_m=300,
    )
    assert [v.code for v in got] == ["V1", "V2", "V5"]
    assert [v.order for v in got] == [1, 2, 3]
    v1, v2, v5 = got
    assert v1.distance_m == pytest.approx(3.5 * EAST_STEP_M, rel=1e-3)  # 389.6 m
    assert v1.offset_m == 0.0
    assert v1.min_elevation_m == 186.0  # (5, 7), the lowest cell centre inside
    assert v1.below_crest_m == 40.0
    assert v2.distance_m == pytest.approx(13.8 * EAST_STEP_M, rel=1e-3)  # 1536.2 m
    assert v2.offset_m == pytest.approx(2 * NORTH_STEP_M, rel=1e-3)  # 221.1 m
    assert v2.min_elevation_m == 178.0  # no cell centre within: its apex's cell (3, 16)
    assert v5.distance_m == pytest.approx(22.5 * EAST_STEP_M, rel=1e-3)  # 2504.7 m
    # with a 2 km limit the path ends at col 19 and V5 (612 m past its end) drops out
    short = flow_path(dem, *DAM, dam_height_m=30, max_distance_m=2000)
    names = threatened_villages(
        short, dem, list(villages), list(villages), list(villages.values()), start=DAM, buffer_m=300
    )
    assert [v.code for v in names] == ["V1", "V2"]


def test_bad_inputs_are_refused_with_the_reason():
    dem = dem_of(valley())
    with pytest.raises(InvalidArgumentError, match="outside the DEM"):
        flow_path(dem, 111.0, 0.0, dam_height_m=30)
    with pytest.raises(InvalidArgumentError, match="dam height"):
        flow_path(dem, *DAM)
    with pytest.raises(InvalidArgumentError, match="above the toe"):
        flow_path(dem, *DAM, crest_elevation_m=190.0)
