"""Geohazard feeds: hazard-point inventories, sensor readings, regional risk warnings; against
real PostGIS with the Mayang demo county (its villages and sensors)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from pyproj import Transformer

from riskmap.ingest.feeds.features.geometry import geom_hash
from riskmap.ingest.feeds.geohazard.units import convert
from riskmap.ingest.pipeline import ingest_file
from riskmap.ingest.registry import detect, feeds
from tests.conftest import SHARED_DATA

KINDS = ["hazard-points", "sensor-readings", "geohazard-risk"]


@pytest.fixture
def db(db_url: str, mayang) -> Iterator[psycopg.Connection]:
    """Session DB with Mayang; rows these feeds wrote (own dataset, own tables) removed after."""
    with psycopg.connect(db_url) as conn:
        yield conn
        conn.rollback()
        conn.execute("DELETE FROM sensor_obs")
        conn.execute("DELETE FROM geohazard_risk_area")
        conn.execute("DELETE FROM dataset WHERE id = 'ingest-geohazard'")  # cascades its points
        conn.execute("DELETE FROM ingest_log WHERE kind = ANY(%s)", (KINDS,))
        conn.commit()


def villages(conn: psycopg.Connection, n: int) -> list[tuple[str, float, float]]:
    return conn.execute(
        "SELECT code, ST_X(label_point), ST_Y(label_point) FROM admin_unit"
        " WHERE level = 'village' AND gb2260 = '431226' ORDER BY code LIMIT %s",
        (n,),
    ).fetchall()


def point_feature(props: dict, lon: float, lat: float) -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def hp_props(i: int, **extra) -> dict:
    return {
        "统一编号": f"TGH{i:03d}",
        "隐患点名称": f"测试滑坡{i}",
        "灾害类型": "滑坡",
        "规模": "中型",
        "威胁人数": 120,
        "威胁户数": 30,
        "威胁财产(万元)": 85.5,
        **extra,
    }


def write_json(tmp: Path, name: str, doc: object) -> Path:
    path = tmp / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def collection(features: list[dict], **top) -> dict:
    return {"type": "FeatureCollection", **top, "features": features}


# -- hazard points ----------------------------------------------------------------------------


def test_hazard_points_geojson_chinese_columns(db, tmp_path: Path) -> None:
    (c1, x1, y1), (c2, x2, y2) = villages(db, 2)
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[x1, y1], [x1 + 0.01, y1 + 0.01], [x1 + 0.01, y1], [x1, y1 + 0.01], [x1, y1]]
        ],
    }
    features = [
        point_feature(hp_props(1), x1, y1),  # no village code: found by location
        point_feature(
            hp_props(
                2, 行政区划代码=c2, 规模="特大型", 灾害类型="泥石流", 威胁人数=1500, 威胁户数=400
            ),
            x2,
            y2,
        ),
        point_feature(hp_props(3), 116.4, 39.9),  # Beijing: outside every village
        {"type": "Feature", "properties": hp_props(4), "geometry": bowtie},
        {"type": "Feature", "properties": hp_props(5), "geometry": None},
        point_feature(hp_props(6), math.nan, math.nan),
        {
            "type": "Feature",
            "properties": hp_props(7),
            "geometry": {"type": "Point", "coordinates": []},
        },
        point_feature(hp_props(8, 灾害类型="火山"), x1, y1),
        point_feature(hp_props(9, 威胁户数=500), x1, y1),
        point_feature(hp_props(10, 威胁人数=-5), x1, y1),
        point_feature(hp_props(11, 行政区划代码="431226999999"), x1, y1),
    ]
    path = tmp_path / "hazards.geojson"
    path.write_text(json.dumps(collection(features), ensure_ascii=False), encoding="utf-8")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "hazard-points" and s.status == "partial"
    assert s.loaded == {"dataset": 1, "hazard_point": 2}
    problems = {p.record: p for p in s.problems}
    assert {r: p.field for r, p in problems.items()} == {
        "feature 3": "geometry",
        "feature 4": "geometry",
        "feature 5": "geometry",
        "feature 6": "geometry",
        "feature 7": "geometry",
        "feature 8": "kind",
        "feature 9": "threatened_households",
        "feature 10": "threatened_people",
        "feature 11": "village_code",
    }
    assert problems["feature 5"].reason == "no geometry"
    assert problems["feature 6"].reason == "coordinates are NaN or infinite"
    assert problems["feature 7"].reason == "empty geometry"
    assert problems["feature 10"].reason == "impossible value -5 (negative or sentinel)"
    assert problems["feature 3"].reason == "point 116.40000,39.90000 is outside every village"
    assert problems["feature 4"].reason.startswith("expected a Point, got a Polygon (Self-inter")
    assert problems["feature 8"].field == "kind" and "火山" in problems["feature 8"].reason
    assert problems["feature 11"].reason == "unknown village code '431226999999'"
    assert "TGH004" in problems["feature 4"].raw
    rows = db.execute(
        "SELECT id, name, kind, scale, village_code, threatened_people, threatened_households,"
        " threatened_property, dataset_id, ST_X(geom), ST_Y(geom) FROM hazard_point"
        " WHERE id LIKE 'TGH%' ORDER BY id"
    ).fetchall()
    assert rows == [
        (
            "TGH001",
            "测试滑坡1",
            "landslide",
            "medium",
            c1,
            120,
            30,
            85.5,
            "ingest-geohazard",
            x1,
            y1,
        ),
        (
            "TGH002",
            "测试滑坡2",
            "debris_flow",
            "very_large",
            c2,
            1500,
            400,
            85.5,
            "ingest-geohazard",
            x2,
            y2,
        ),
    ]
    synthetic = db.execute("SELECT synthetic FROM dataset WHERE id = 'ingest-geohazard'").fetchone()
    assert synthetic == (False,)


def test_hazard_points_upsert_and_idempotence(db, tmp_path: Path) -> None:
    ((_c1, x1, y1),) = villages(db, 1)
    first = write_json(tmp_path, "v1.geojson", collection([point_feature(hp_props(21), x1, y1)]))
    s1 = ingest_file(db, first, data_dir=tmp_path)
    assert s1.status == "loaded" and s1.loaded == {"dataset": 1, "hazard_point": 1}
    # a person the county assigned as monitor (not in the file) must survive the re-import
    monitor = db.execute("SELECT id FROM person LIMIT 1").fetchone()[0]
    db.execute("UPDATE hazard_point SET monitor_id = %s WHERE id = 'TGH021'", (monitor,))
    db.commit()
    again = ingest_file(db, first, data_dir=tmp_path)
    assert again.status == "duplicate" and again.ingest_id == s1.ingest_id
    second = write_json(
        tmp_path,
        "v2.geojson",
        collection([point_feature(hp_props(21, 隐患点名称="改名滑坡", 威胁人数=600), x1, y1)]),
    )
    s2 = ingest_file(db, second, data_dir=tmp_path)
    assert s2.loaded == {"dataset": 0, "hazard_point": 1}
    row = db.execute(
        "SELECT name, threatened_people, monitor_id FROM hazard_point WHERE id = 'TGH021'"
    ).fetchone()
    assert row == ("改名滑坡", 600, monitor)


def _frame(rows: list[dict], points: list[shapely.Point], crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=points, crs=crs)


def test_geopackage_in_cgcs2000_english_columns(db, tmp_path: Path) -> None:
    ((c1, x1, y1),) = villages(db, 1)
    rows = [
        {
            "id": "TGH031",
            "name": "slope A",
            "kind": "unstable_slope",
            "scale": "small",
            "threatened_people": 12,
            "threatened_households": 4,
            "village_code": c1,
        }
    ]
    path = tmp_path / "inventory.gpkg"
    _frame(rows, [shapely.Point(x1, y1)], "EPSG:4490").to_file(path, driver="GPKG")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "hazard-points" and s.status == "loaded", s.problems
    row = db.execute(
        "SELECT kind, scale, village_code, threatened_property, ST_X(geom), ST_Y(geom)"
        " FROM hazard_point WHERE id = 'TGH031'"
    ).fetchone()
    assert row[:4] == ("unstable_slope", "small", c1, None)
    assert row[4] == pytest.approx(x1, abs=1e-9) and row[5] == pytest.approx(y1, abs=1e-9)


def test_shapefile_in_projected_cgcs2000_chinese_columns(db, tmp_path: Path) -> None:
    (c1, x1, y1), (c2, x2, y2) = villages(db, 2)
    to_gk = Transformer.from_crs(4326, 4525, always_xy=True)  # 3° Gauss–Krüger zone 37
    pts = [shapely.Point(*to_gk.transform(x, y)) for x, y in ((x1, y1), (x2, y2))]
    assert pts[0].x > 37_000_000  # zone-prefixed easting: clearly projected metres
    rows = [
        {
            "编号": "TGH041",
            "名称": "崩塌点",
            "类型": "崩塌",
            "规模": "大型",
            "威胁人数": 700,
            "威胁户数": 150,
        },
        {
            "编号": "TGH042",
            "名称": "塌陷点",
            "类型": "地面塌陷",
            "规模": "小型",
            "威胁人数": 8,
            "威胁户数": 2,
        },
    ]
    path = tmp_path / "隐患点.shp"
    # Chinese agencies write GBK .dbf files (a UTF-8 "威胁人数" would not fit 10 bytes)
    _frame(rows, pts, "EPSG:4525").to_file(path, encoding="GBK")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "hazard-points" and s.status == "loaded", s.problems
    got = db.execute(
        "SELECT id, kind, scale, village_code, ST_X(geom), ST_Y(geom) FROM hazard_point"
        " WHERE id IN ('TGH041', 'TGH042') ORDER BY id"
    ).fetchall()
    assert [g[:4] for g in got] == [
        ("TGH041", "collapse", "large", c1),
        ("TGH042", "subsidence", "small", c2),
    ]
    assert got[0][4] == pytest.approx(x1, abs=1e-7) and got[1][5] == pytest.approx(y2, abs=1e-7)


def test_shapefile_without_crs_and_wrong_crs_are_rejected(db, tmp_path: Path) -> None:
    ((_c1, x1, y1),) = villages(db, 1)
    rows = [
        {
            "id": "TGH051",
            "name": "n",
            "kind": "landslide",
            "scale": "small",
            "threatened": 3,
            "threat_hh": 1,
        }
    ]
    path = tmp_path / "noprj.shp"
    _frame(rows, [shapely.Point(x1, y1)], "EPSG:4326").to_file(path)
    path.with_suffix(".prj").unlink()
    s = ingest_file(db, path, data_dir=tmp_path, kind="hazard-points")
    assert s.status == "rejected" and "no coordinate reference system" in s.message
    assert "noprj.shp" in s.message
    # projected metres labelled as WGS 84
    to_gk = Transformer.from_crs(4326, 4525, always_xy=True)
    wrong = tmp_path / "wrong.gpkg"
    _frame(
        [{**rows[0], "threat_ppl": 3}], [shapely.Point(*to_gk.transform(x1, y1))], "EPSG:4326"
    ).to_file(wrong, driver="GPKG")
    s = ingest_file(db, wrong, data_dir=tmp_path, kind="hazard-points")
    assert s.status == "rejected" and "CRS is wrong" in s.message
    assert db.execute("SELECT count(*) FROM hazard_point WHERE id LIKE 'TGH05%'").fetchone() == (0,)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ('{"type": "FeatureCollection", "features": []}', "no features"),
        ('{"type": "FeatureCollection", "features": [', "not JSON"),
    ],
)
def test_unreadable_hazard_files_are_rejected(db, tmp_path: Path, content, message) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    s = ingest_file(db, path, data_dir=tmp_path, kind="hazard-points")
    assert s.status == "rejected" and message in s.message and "bad.geojson" in s.message
    assert db.execute("SELECT count(*) FROM dataset WHERE id = 'ingest-geohazard'").fetchone() == (
        0,
    )


# -- sensor readings ---------------------------------------------------------------------------


def sensor_of(conn: psycopg.Connection, unit: str, kind: str | None = None) -> str:
    row = conn.execute(
        "SELECT id FROM sensor WHERE unit = %s AND (%s::text IS NULL OR kind = %s) ORDER BY id"
        " LIMIT 1",
        (unit, kind, kind),
    ).fetchone()
    assert row, f"demo has no {unit} sensor"
    return row[0]


def test_sensor_readings_csv_units_and_problems(db, tmp_path: Path) -> None:
    gnss = sensor_of(db, "mm/d", "gnss_displacement")
    crack = sensor_of(db, "mm", "crack_meter")
    phreatic = sensor_of(db, "m", "phreatic_line")
    rain = sensor_of(db, "mm/h", "rain_gauge")
    text = (
        "sensor_id,tm,value,unit\n"
        f"{gnss},2026-07-01 08:00,3.2,mm/d\n"  # line 2: naive → Beijing → 00:00 UTC
        f"{gnss},2026-07-01T01:00:00Z,0.004,m/d\n"  # line 3: m/d → 4 mm/d
        f"{crack},2026-07-01 08:00,1.5,cm\n"  # line 4: cm → 15 mm
        f"{phreatic},2026-07-01 08:00,-6500,mm\n"  # line 5: mm → -6.5 m (depth below crest)
        f"{rain},2026-07-01 08:00,12,mm/h\n"  # line 6
        f"{crack},2026-07-01 09:00,3,mm/h\n"  # line 7: wrong dimension
        "NOSUCH,2026-07-01 08:00,1,mm\n"  # line 8: unknown sensor
        f"{gnss},2026-07-01 09:00,-9999,mm/d\n"  # line 9: sentinel
        f"{rain},2026-07-01 09:00,-2,mm/h\n"  # line 10: negative rain
        f"{gnss},yesterday,1,mm/d\n"  # line 11: bad time
        f"{gnss},2026-07-01 10:00,abc,mm/d\n"  # line 12: not a number
        f"{gnss},2026-07-01 11:00,1,\n"  # line 13: no unit
    )
    path = tmp_path / "readings.csv"
    path.write_text(text, encoding="utf-8")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "sensor-readings" and s.status == "partial"
    assert s.loaded == {"sensor_obs": 5}
    assert {p.record: p.field for p in s.problems} == {
        "line 7": "unit",
        "line 8": "sensor_id",
        "line 9": "value",
        "line 10": "value",
        "line 11": "tm",
        "line 12": "value",
        "line 13": "unit",
    }
    reasons = {p.record: p.reason for p in s.problems}
    assert reasons["line 7"] == f"unit 'mm/h' does not match sensor {crack}'s unit 'mm'"
    assert reasons["line 8"] == "unknown sensor 'NOSUCH'"
    rows = db.execute(
        "SELECT sensor_id, tm, value, unit FROM sensor_obs ORDER BY sensor_id, tm"
    ).fetchall()
    got = {(r[0], r[1]): (round(r[2], 9), r[3]) for r in rows}
    t0, t1 = datetime(2026, 7, 1, 0, tzinfo=UTC), datetime(2026, 7, 1, 1, tzinfo=UTC)
    assert got == {
        (gnss, t0): (3.2, "mm/d"),
        (gnss, t1): (4.0, "mm/d"),
        (crack, t0): (15.0, "mm"),
        (phreatic, t0): (-6.5, "m"),
        (rain, t0): (12.0, "mm/h"),
    }
    assert ingest_file(db, path, data_dir=tmp_path).status == "duplicate"
    assert db.execute("SELECT count(*) FROM sensor_obs").fetchone() == (5,)


def test_sensor_readings_json(db, tmp_path: Path) -> None:
    gnss = sensor_of(db, "mm/d", "gnss_displacement")
    doc = {
        "sensor_id": gnss,
        "unit": "mm/d",
        "readings": [
            {"tm": "2026-07-02T00:00:00+08:00", "value": 1.0},
            {"tm": "2026-07-02T01:00:00+08:00", "value": 1.5},
            {"tm": "2026-07-02T01:00:00+08:00", "value": 1.5},  # repeated reading: a duplicate
            {"tm": "2026-07-02T02:00:00+08:00", "value": 99999},
            {"sensor_id": "NOSUCH", "tm": "2026-07-02T02:00:00+08:00", "value": 2},
        ],
    }
    s = ingest_file(db, write_json(tmp_path, "gnss.json", doc), data_dir=tmp_path)
    assert s.kind == "sensor-readings" and s.loaded == {"sensor_obs": 2} and s.duplicates == 1
    assert {(p.record, p.field) for p in s.problems} == {
        ("entry 4", "value"),
        ("entry 5", "sensor_id"),
    }
    assert s.ingest_id is not None
    valid = db.execute(
        "SELECT valid_from, valid_to FROM ingest_log WHERE id = %s", (s.ingest_id,)
    ).fetchone()
    assert valid == (datetime(2026, 7, 1, 16, tzinfo=UTC), datetime(2026, 7, 1, 17, tzinfo=UTC))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("sensor_id,tm,value\nS1,2026-07-01,1\n", "no unit column"),
        ('{"readings": []}', "no readings"),
        ('{"readings": 5}', "expected a list of readings"),
    ],
)
def test_unreadable_readings_rejected(db, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / ("r.json" if content.startswith("{") else "r.csv")
    path.write_text(content, encoding="utf-8")
    s = ingest_file(db, path, data_dir=tmp_path, kind="sensor-readings")
    assert s.status == "rejected" and message in s.message
    assert db.execute("SELECT count(*) FROM sensor_obs").fetchone() == (0,)


def test_unit_conversion() -> None:
    assert convert(1.0, "m", "mm") == 1000.0
    assert convert(2.0, "mm", "m") == 0.002
    assert convert(24.0, "mm/d", "mm/h") == pytest.approx(1.0)
    assert convert(1.0, "米", "mm") == 1000.0
    assert convert(1.0, "mm", "mm/d") is None
    assert convert(1.0, "ppm", "mm") is None
    assert convert(3.0, "ppm", "ppm") == 3.0


# -- regional risk warnings --------------------------------------------------------------------


def square(x: float, y: float, d: float = 0.1) -> list:
    return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]


def risk_feature(level, coords, **props) -> dict:
    return {
        "type": "Feature",
        "properties": {"预警等级": level, **props},
        "geometry": {"type": "Polygon", "coordinates": coords},
    }


def test_risk_warning_polygons(db, tmp_path: Path) -> None:
    times = {"valid_from": "2026-07-01 20:00", "valid_to": "2026-07-02 20:00"}
    bowtie = [[[109.5, 27.5], [109.6, 27.6], [109.6, 27.5], [109.5, 27.6], [109.5, 27.5]]]
    doc = collection(
        [
            risk_feature("一级", square(109.5, 27.5), **times),
            risk_feature("橙色", square(109.6, 27.5), **times),
            risk_feature(3, square(109.7, 27.5), **times),
            risk_feature("四级", square(109.8, 27.5), **times),
            risk_feature("五级", square(109.9, 27.5), **times),  # no such level
            risk_feature(
                "一级",
                square(109.5, 27.7),
                valid_from="2026-07-02 20:00",
                valid_to="2026-07-01 20:00",
            ),  # ends before it starts
            risk_feature("二级", bowtie, **times),  # self-intersecting
            risk_feature(
                "三级", square(109.5, 27.8), valid_from="tomorrow", valid_to="2026-07-02 20:00"
            ),
        ],
        issuer="湖南省自然资源厅 湖南省气象局",
        issued_at="2026-07-01T17:30:00+08:00",
    )
    path = write_json(tmp_path, "risk.geojson", doc)
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "geohazard-risk" and s.status == "partial"
    assert s.loaded == {"geohazard_risk_area": 4}
    assert {p.record: p.field for p in s.problems} == {
        "feature 5": "level",
        "feature 6": "valid_to",
        "feature 7": "geometry",
        "feature 8": "valid_from",
    }
    rows = db.execute(
        "SELECT level, colour, issuer, valid_from, valid_to, issued_at, ST_XMin(geom)"
        " FROM geohazard_risk_area ORDER BY level"
    ).fetchall()
    vf, vt = datetime(2026, 7, 1, 12, tzinfo=UTC), datetime(2026, 7, 2, 12, tzinfo=UTC)
    issued = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    issuer = "湖南省自然资源厅 湖南省气象局"
    assert rows == [
        (1, "red", issuer, vf, vt, issued, 109.5),
        (2, "orange", issuer, vf, vt, issued, 109.6),
        (3, "yellow", issuer, vf, vt, issued, 109.7),
        (4, None, issuer, vf, vt, issued, 109.8),
    ]
    log = db.execute(
        "SELECT valid_from, valid_to FROM ingest_log WHERE id = %s", (s.ingest_id,)
    ).fetchone()
    assert log == (vf, vt)
    assert ingest_file(db, path, data_dir=tmp_path).status == "duplicate"
    # the same warning re-sent with each ring starting elsewhere: same areas, all duplicates
    for f in doc["features"][:4]:
        ring = f["geometry"]["coordinates"][0]
        f["geometry"]["coordinates"] = [ring[1:] + ring[1:2]]
    doc["features"] = doc["features"][:4]
    s2 = ingest_file(db, write_json(tmp_path, "risk2.geojson", doc), data_dir=tmp_path)
    assert s2.status == "loaded" and s2.loaded == {"geohazard_risk_area": 0}
    assert s2.duplicates == 4


def test_risk_warning_in_cgcs2000_and_missing_issuer(db, tmp_path: Path) -> None:
    doc = collection(
        [
            risk_feature(
                2,
                square(109.5, 27.5),
                valid_from="2026-07-03T00:00:00Z",
                valid_to="2026-07-04T00:00:00Z",
                issuer="麻阳县自然资源局",
            ),
            risk_feature(
                2,
                square(109.6, 27.5),
                valid_from="2026-07-03T00:00:00Z",
                valid_to="2026-07-04T00:00:00Z",
            ),
        ],
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
    )
    s = ingest_file(db, write_json(tmp_path, "cgcs.geojson", doc), data_dir=tmp_path)
    assert s.loaded == {"geohazard_risk_area": 1}
    assert [(p.record, p.field) for p in s.problems] == [("feature 2", "issuer")]
    row = db.execute(
        "SELECT ST_XMin(geom), ST_YMin(geom), issued_at FROM geohazard_risk_area"
    ).fetchone()
    # EPSG:4490 axis order is lat/lon in the registry, but GeoJSON stays lon/lat
    assert row[0] == pytest.approx(109.5, abs=1e-6) and row[1] == pytest.approx(27.5, abs=1e-6)
    assert row[2] == datetime(2026, 7, 3, tzinfo=UTC)  # no issue time: valid_from


def test_geom_hash_ignores_ring_start_and_direction() -> None:
    a = shapely.MultiPolygon([shapely.Polygon(square(1, 1)[0])])
    b = shapely.MultiPolygon([shapely.Polygon(list(reversed(square(1, 1)[0])))])
    assert geom_hash(a) == geom_hash(b)
    assert geom_hash(a) != geom_hash(shapely.MultiPolygon([shapely.Polygon(square(1, 2)[0])]))


# -- detection ---------------------------------------------------------------------------------


def test_detection_is_specific(db, tmp_path: Path) -> None:
    available = feeds()
    ((_c1, x1, y1),) = villages(db, 1)
    hp = write_json(tmp_path, "hp.geojson", collection([point_feature(hp_props(61), x1, y1)]))
    risk = write_json(
        tmp_path,
        "risk.geojson",
        collection(
            [
                risk_feature(
                    2,
                    square(109.5, 27.5),
                    valid_from="2026-07-03",
                    valid_to="2026-07-04",
                    issuer="x",
                )
            ]
        ),
    )
    fire = write_json(
        tmp_path,
        "fire.geojson",
        collection(
            [
                {
                    "type": "Feature",
                    "properties": {
                        "火险等级": 4,
                        "valid_from": "2026-07-03",
                        "valid_to": "2026-07-04",
                    },
                    "geometry": {"type": "Polygon", "coordinates": square(109.5, 27.5)},
                }
            ]
        ),
    )
    csv = tmp_path / "r.csv"
    csv.write_text("sensor_id,tm,value,unit\nS,2026-07-01,1,mm\n", encoding="utf-8")
    assert detect(hp, hp.read_bytes()[:4096], available).kind == "hazard-points"
    assert detect(risk, risk.read_bytes()[:4096], available).kind == "geohazard-risk"
    assert detect(fire, fire.read_bytes()[:4096], available).kind == "fire-danger"
    assert detect(csv, csv.read_bytes()[:4096], available).kind == "sensor-readings"
    mine = [available[k] for k in KINDS]
    for path in [
        fire,
        *SHARED_DATA.glob("quakes/**/*.*"),
        *SHARED_DATA.glob("nws/*.json"),
        *SHARED_DATA.glob("fire/*.csv"),
        *SHARED_DATA.glob("hydro/*"),
        *SHARED_DATA.glob("cap/**/*.xml"),
    ]:
        if path.is_file():
            assert not any(f.sniff(path, path.read_bytes()[:4096]) for f in mine), path
