"""The planner's loaders against the replayed storm: columns, counts checked by independent
SQL, CRS, and rain checked against the NetCDF file read with netCDF4 directly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import netCDF4
import numpy as np
import pandas as pd
import psycopg
import pytest

from riskmap.geo import planner

COUNTY = "431226"


@pytest.fixture(scope="module")
def url(planner_url: str) -> str:
    return planner_url


@pytest.fixture
def conn(url: str) -> Iterator[psycopg.Connection]:
    with planner.connect(url) as connection:
        yield connection


def _count(conn: psycopg.Connection, query: str, params: object = None) -> int:
    return conn.execute(query, params).fetchone()[0]


def test_villages(conn) -> None:
    v = planner.villages(conn, county=COUNTY)
    expected = ["code", "name", "township_code", "township_name", "county", "population",
                "households", "area_km2", "geometry"]  # fmt: skip
    assert list(v.columns) == expected
    n = _count(conn, "SELECT count(*) FROM admin_unit WHERE level = 'village' AND gb2260 = %s",
               [COUNTY])  # fmt: skip
    assert len(v) == n > 200
    assert v.crs.to_epsg() == 4326
    assert v["township_name"].notna().all()
    assert len(planner.villages(conn, county="999999")) == 0


def test_reprojection_and_bad_crs(conn) -> None:
    v = planner.villages(conn, county=COUNTY)
    # CGCS2000 3-degree Gauss–Krüger zone of central meridian 111°E (Mayang lies near 109.7°E)
    projected = planner.villages(conn, county=COUNTY, crs="EPSG:4546")
    assert projected.crs.to_epsg() == 4546
    assert projected.geometry.iloc[0].equals_exact(v.to_crs(4546).geometry.iloc[0], 1e-6)
    assert 300_000 < projected.geometry.centroid.x.mean() < 500_000  # west of 111°E: < 500 km
    with pytest.raises(ValueError, match="unknown CRS 'EPSG:999999'"):
        planner.villages(conn, crs="EPSG:999999")
    with pytest.raises(ValueError, match="unknown CRS"):
        planner.resources(conn, "shelter", crs="not a crs")


def test_townships(conn) -> None:
    t = planner.townships(conn, county=COUNTY)
    n = _count(conn, "SELECT count(*) FROM admin_unit WHERE level = 'township'")
    assert len(t) == n > 0
    assert t["villages"].sum() == _count(conn, "SELECT count(*) FROM village")
    assert t.crs.to_epsg() == 4326


def test_risk(conn) -> None:
    r = planner.risk(conn)
    assert len(r) == _count(conn, "SELECT count(*) FROM village_risk") > 0
    assert {"village_code", "hazard", "risk_level", "exposure_class", "geometry"} <= set(r)
    flood = planner.risk(conn, "flash_flood")
    n = _count(conn, "SELECT count(*) FROM village_risk WHERE hazard = 'flash_flood'")
    assert len(flood) == n and set(flood["hazard"]) == {"flash_flood"}
    assert str(flood["computed_at"].dtype) == "datetime64[ns, UTC]"
    with pytest.raises(ValueError, match="'flash_flood', 'geohazard', 'forest_fire'"):
        planner.risk(conn, "flood")


@pytest.mark.parametrize(
    ("kind", "table", "column"),
    [("shelter", "shelter", "capacity"), ("team", "rescue_team", "specialty"),
     ("warehouse", "warehouse", "level")],
)  # fmt: skip
def test_located_resources(conn, kind: str, table: str, column: str) -> None:
    frame = planner.resources(conn, kind)
    assert len(frame) == _count(conn, f"SELECT count(*) FROM {table}") > 0
    assert column in frame and frame.crs.to_epsg() == 4326


def test_warehouse_stock(conn) -> None:
    houses = planner.resources(conn, "warehouse")
    totals = dict(conn.execute("SELECT item, sum(quantity)::float8 FROM stock GROUP BY item"))
    assert totals
    for item, quantity in totals.items():
        assert houses[f"stock_{item}"].sum() == pytest.approx(quantity)
    assert len(planner.stock(conn)) == _count(conn, "SELECT count(*) FROM stock")


def test_experts_have_no_location(conn) -> None:
    experts = planner.resources(conn, "expert")
    assert type(experts) is pd.DataFrame
    assert len(experts) == _count(conn, "SELECT count(*) FROM expert") > 0
    with pytest.raises(ValueError, match="kind must be one of"):
        planner.resources(conn, "boat")


def test_stations(conn) -> None:
    s = planner.stations(conn)
    assert len(s) == _count(conn, "SELECT count(*) FROM station") > 0
    assert {"latest_level", "latest_tm", "warning_level", "guarantee_level",
            "flood_limit_level"} <= set(s)  # fmt: skip
    stcd, z, tm = conn.execute(
        "SELECT DISTINCT ON (o.stcd) o.stcd, o.z, o.tm FROM river_obs o JOIN river_indicator i"
        " USING (stcd) WHERE o.z IS NOT NULL ORDER BY o.stcd, o.tm DESC LIMIT 1"
    ).fetchone()
    row = s.set_index("stcd").loc[stcd]
    assert row["latest_level"] == pytest.approx(z)
    assert row["latest_tm"] == pd.Timestamp(tm)
    assert row["warning_level"] < row["guarantee_level"]
    reservoirs = s[s["sttp"] == "RR"]
    assert reservoirs["flood_limit_level"].notna().any()


def test_warnings(conn) -> None:
    every = planner.warnings(conn)
    assert len(every) == _count(conn, "SELECT count(*) FROM warning") > 0
    issued = planner.warnings(conn, "issued")
    n = _count(conn, "SELECT count(*) FROM warning WHERE status = 'issued'")
    assert len(issued) == n > 0 and set(issued["status"]) == {"issued"}
    assert issued.crs.to_epsg() == 4326 and issued.geometry.is_valid.all()
    first = every.iloc[0]
    versions = _count(conn, "SELECT count(*) FROM warning_version WHERE warning_id = %s",
                      [int(first["id"])])  # fmt: skip
    assert len(first["versions"]) == versions
    assert first["evidence"]["villages"]
    assert str(every["first_fired_at"].dtype) == "datetime64[ns, UTC]"
    with pytest.raises(ValueError, match="'issued', 'all'"):
        planner.warnings(conn, "open")


def test_observations(conn) -> None:
    since, until = datetime(2026, 7, 14, 2, tzinfo=UTC), datetime(2026, 7, 14, 5, tzinfo=UTC)
    rain = planner.observations(conn, since=since, until=until)
    n = _count(conn, "SELECT count(*) FROM rain_obs WHERE tm > %s AND tm <= %s", [since, until])
    assert len(rain) == n > 0
    assert rain["tm"].min() > pd.Timestamp(since) and rain["tm"].max() <= pd.Timestamp(until)
    stcd = rain["stcd"].iloc[0]
    one = planner.observations(conn, stcd, since, until)
    assert set(one["stcd"]) == {stcd}
    river = planner.observations(conn, kind="river")
    assert len(river) == _count(conn, "SELECT count(*) FROM river_obs") > 0
    with pytest.raises(ValueError, match="timezone-aware"):
        planner.observations(conn, since=datetime(2026, 7, 14))


def test_village_rain_sums(conn) -> None:
    codes = [r[0] for r in conn.execute("SELECT code FROM village ORDER BY code LIMIT 5")]
    rain = planner.village_rain(conn, codes)
    assert len(rain) > 0 and set(rain["village_code"]) <= set(codes)
    assert (rain["hours"] == 1).all()
    # independent: the arrays indexed by each village's position in its set, plus plain rows
    expected = dict(
        conn.execute(
            "SELECT code, sum(mm) FROM ("
            " SELECT m.code, g.mean_mm[m.pos] AS mm FROM village_rain_grid g"
            " JOIN village_set_member m ON m.set_id = g.village_set"
            " WHERE g.product = 'qpe' AND m.code = ANY(%(c)s)"
            " UNION ALL SELECT r.village_code, r.mean_mm FROM village_rain_row r"
            " WHERE r.product = 'qpe' AND r.village_code = ANY(%(c)s)) x"
            " WHERE mm <> 'NaN'::float8 GROUP BY code",
            {"c": codes},
        )
    )
    got = rain.groupby("village_code")["mean_mm"].sum()
    assert got.to_dict() == pytest.approx(expected)


def test_rain_grid_matches_the_file(conn) -> None:
    ref = conn.execute(
        "SELECT path, step, to_mm, valid_end FROM grid_file WHERE product = 'qpe'"
        " ORDER BY max_mm DESC LIMIT 1"
    ).fetchone()
    path, step, to_mm, valid_end = ref
    da = planner.rain_grid(conn, valid_end)
    assert da.attrs["source"] == path and da.attrs["units"] == "mm"
    assert "4326" in da["spatial_ref"].attrs["crs_wkt"] or "WGS 84" in da["spatial_ref"].attrs[
        "crs_wkt"]  # fmt: skip
    assert da.attrs["grid_mapping"] == "spatial_ref"
    with netCDF4.Dataset(path) as nc:
        var = nc.variables["precipitation_amount"]
        values = np.ma.filled(var[step], np.nan).astype(float) * to_mm
        lats, lons = nc.variables["lat"][:], nc.variables["lon"][:]
    j, i = np.unravel_index(np.nanargmax(values), values.shape)
    cell = da.sel(y=lats[j], x=lons[i], method="nearest")
    assert float(cell.y) == pytest.approx(lats[j]) and float(cell.x) == pytest.approx(lons[i])
    assert float(cell) == pytest.approx(values[j, i], rel=1e-6) and values[j, i] > 0
    assert np.nansum(da.values) == pytest.approx(np.nansum(values), rel=1e-5)
    latest = planner.rain_grid(conn)
    assert latest.attrs["valid_end"] >= da.attrs["valid_end"]


def test_connect_rejects_a_non_postgres_url() -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        planner.connect("sqlite:///x.db")


def test_connect_reads_the_configured_url(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKMAP_DATABASE_URL", url)
    with planner.connect() as conn:
        assert conn.autocommit
        assert len(planner.villages(conn, county=COUNTY)) > 0
