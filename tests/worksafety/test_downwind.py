"""A chemical installation's exposed villages: hand-placed villages at known bearings around a
site at 27.5° N, with distances from the WGS 84 meridian and parallel degrees there (0.01° of
latitude = 1108.1 m, 0.01° of longitude = 988.1 m), and the demo plant checked against
PostGIS's own geodesic distance and azimuth."""

from __future__ import annotations

import math
from collections.abc import Iterator

import psycopg
import pytest

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.worksafety.downwind import (
    Wind,
    exposed_villages,
    planning_radius,
    sector_half_angle,
    site_exposed_villages,
)
from tests.conftest import clone_database, drop_database

SITE = (110.0, 27.5)
N_M, E_M = 1108.1, 988.1  # metres per 0.01° of latitude / longitude at 27.5° N


def at(de: float, dn: float) -> tuple[float, float]:
    """Offsets in hundredths of a degree east and north of the site."""
    return SITE[0] + de * 0.01, SITE[1] + dn * 0.01


def bearing(de: float, dn: float) -> float:
    return math.degrees(math.atan2(de * E_M, dn * N_M)) % 360


VILLAGES = {
    "S": (0.0, -1.0),  # 1108 m, 180°
    "SSW": (-0.4, -1.0),  # 1176 m, 199.6°
    "SW": (-1.0, -1.0),  # 1484 m, 221.7°
    "N": (0.0, 1.0),  # 1108 m, 0° (upwind of a north wind)
    "NN": (0.0, 0.3),  # 332 m north: inside the 500 m isolation circle
    "E": (1.0, 0.0),  # 988 m, 90°
    "FAR": (0.0, -3.0),  # 3324 m: beyond the 2 km radius
}
ROWS = [(k, f"{k}村", *at(*d)) for k, d in VILLAGES.items()]


def codes(wind: Wind | None) -> list[str]:
    return [v.code for v in exposed_villages(SITE, ROWS, 2000.0, wind, isolation_m=500.0)]


def test_distances_and_bearings_match_the_hand_values() -> None:
    got = {v.code: v for v in exposed_villages(SITE, ROWS, 2000.0)}
    for k in ("S", "SSW", "SW", "N", "NN", "E"):
        de, dn = VILLAGES[k]
        assert got[k].distance_m == pytest.approx(math.hypot(de * E_M, dn * N_M), rel=2e-3)
        assert got[k].bearing_deg == pytest.approx(bearing(de, dn), abs=0.1)
        assert got[k].reason == "radius"
    assert "FAR" not in got


def test_no_wind_is_the_whole_circle_nearest_first() -> None:
    # S before N: a meridian degree lengthens northward, so 0.01° south is the shorter
    assert codes(None) == ["NN", "E", "S", "N", "SSW", "SW"]


def test_a_north_wind_keeps_the_south_sector_and_the_isolation_circle() -> None:
    assert codes(Wind(from_deg=0, speed_ms=4.0)) == ["NN", "S", "SSW"]  # ±30° about 180°
    assert codes(Wind(from_deg=0, speed_ms=1.5)) == ["NN", "S", "SSW", "SW"]  # light: ±60°
    assert codes(Wind(from_deg=0, speed_ms=0.3)) == codes(None)  # calm: all round
    # a wind from the north-east (45°) blows toward 225°: SW and SSW (25.4° off) are in
    assert codes(Wind(from_deg=45, speed_ms=5.0)) == ["NN", "SSW", "SW"]
    # across north: a wind from 200° blows toward 20°, N (20° off) is in
    assert codes(Wind(from_deg=200, speed_ms=5.0)) == ["NN", "N"]


def test_sector_widths_and_radius_rules() -> None:
    assert [sector_half_angle(Wind(0, s)) for s in (0.0, 0.49, 0.5, 1.99, 2.0, 12)] == [
        180, 180, 60, 60, 30, 30]  # fmt: skip
    assert planning_radius({"major_hazard_source": "三级"}) == 2000.0
    assert planning_radius({"emergency_radius_m": 1500, "major_hazard_source": "一级"}) == 1500.0
    with pytest.raises(InvalidArgumentError, match="emergency_radius_m"):
        planning_radius({"chemicals": ["液氯"]})
    with pytest.raises(InvalidArgumentError, match="speed"):
        sector_half_angle(Wind(0, -1))


@pytest.fixture(scope="module")
def plant_url(pg_cluster, storm_url) -> Iterator[str]:
    url = clone_database(pg_cluster, storm_url, prefix="t_wsdownwind")
    yield url
    drop_database(pg_cluster, url)


BRUTE = """
SELECT v.code,
       ST_Distance(v.geom::geography, s.geom::geography) AS d,
       degrees(ST_Azimuth(s.geom::geography, ST_ClosestPoint(v.geom, s.geom)::geography)) AS az
FROM admin_unit v, hazardous_site s
WHERE v.level = 'village' AND s.id = %s
"""


def test_demo_plant_matches_postgis_geodesics(plant_url: str) -> None:
    with psycopg.connect(plant_url) as conn:
        sid, details = conn.execute(
            "SELECT id, details FROM hazardous_site WHERE kind = 'chemical_plant'"
        ).fetchone()
        radius = planning_radius(details)  # the demo plant is 三级: 2 km
        wind = Wind(from_deg=90, speed_ms=3.0)  # east wind: the sector is 240°–300°
        everyone = site_exposed_villages(conn, sid)
        downwind = site_exposed_villages(conn, sid, wind)
        brute = conn.execute(BRUTE, [sid]).fetchall()
    assert radius == 2000.0
    assert {v.code for v in everyone} == {c for c, d, _ in brute if d <= radius}
    expect = {
        c for c, d, az in brute
        if d <= 500 or (d <= radius and az is not None and abs(az - 270) <= 30)
    }  # fmt: skip
    assert {v.code for v in downwind} == expect and expect
    assert [v.distance_m for v in everyone] == sorted(v.distance_m for v in everyone)
