"""Forest-fire feeds: FIRMS hotspots (real MODIS / VIIRS samples, generated Mayang files) and
fire-danger ratings, against real PostGIS with the Mayang demo county."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from riskmap.ingest.feeds.fire.firms import NEAREST_VILLAGE_KM
from riskmap.ingest.pipeline import ingest_file
from riskmap.ingest.registry import detect, feeds
from tests.conftest import SHARED_DATA

FIRE = SHARED_DATA / "fire"
MODIS = FIRE / "firms_modis_c61_usa_hawaii_24h_2025-03.csv"
VIIRS = FIRE / "firms_viirs_snpp_south_asia_24h_2025-06.csv"
KINDS = ["hotspots", "fire-danger"]
AREA_API_HEADER = (
    "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,"
    "confidence,version,bright_ti5,frp,daynight\n"
)
MODIS_HEADER = (
    "latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,confidence,version,"
    "bright_t31,frp,daynight\n"
)


@pytest.fixture
def db(db_url: str, mayang) -> Iterator[psycopg.Connection]:
    """A connection to the session DB with Mayang loaded; fire rows and logs removed before
    and after (other suites, e.g. the CLI's, ingest fire samples too)."""

    def clean(conn: psycopg.Connection) -> None:
        conn.rollback()
        conn.execute("DELETE FROM hotspot")
        conn.execute("DELETE FROM fire_danger")
        conn.execute("DELETE FROM ingest_log WHERE kind = ANY(%s)", (KINDS,))
        conn.commit()

    with psycopg.connect(db_url) as conn:
        clean(conn)
        yield conn
        clean(conn)


def villages(conn: psycopg.Connection, n: int) -> list[tuple[str, float, float]]:
    return conn.execute(
        "SELECT code, ST_X(label_point), ST_Y(label_point) FROM admin_unit"
        " WHERE level = 'village' AND gb2260 = '431226' ORDER BY code LIMIT %s",
        (n,),
    ).fetchall()


def nearest(conn: psycopg.Connection, lon: float, lat: float) -> tuple[str, float]:
    """Nearest village by brute force (no index, no prefilter): the reference answer."""
    return conn.execute(
        "SELECT code, ST_Distance(geom::geography,"
        " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography) / 1000 AS km"
        " FROM admin_unit WHERE level = 'village' ORDER BY km, code LIMIT 1",
        (lon, lat),
    ).fetchone()


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


# -- real FIRMS samples --------------------------------------------------------------------


def test_modis_sample_loads_and_is_far_from_every_village(db, tmp_path: Path) -> None:
    s = ingest_file(db, MODIS, data_dir=tmp_path)
    assert s.kind == "hotspots" and s.status == "loaded" and s.loaded == {"hotspot": 1049}
    first = db.execute(
        "SELECT satellite, instrument, acquired_at, brightness_k, bright_t31_k, frp_mw,"
        " confidence_pct, confidence_class, scan, track, version, daynight, ST_X(geom), ST_Y(geom)"
        " FROM hotspot WHERE longitude = -77.49902 AND latitude = 20.04031"
    ).fetchone()
    assert first == (
        "T",
        "MODIS",
        datetime(2025, 3, 25, 2, 28, tzinfo=UTC),
        301.84,
        291.75,
        3.93,
        45,
        None,
        1.01,
        1.01,
        "6.1NRT",
        "N",
        -77.49902,
        20.04031,
    )
    stats = db.execute(
        "SELECT count(*) FILTER (WHERE satellite = 'A'), count(*) FILTER (WHERE satellite = 'T'),"
        " count(*) FILTER (WHERE confidence_pct = 100), min(ST_X(geom)), max(ST_X(geom)),"
        " min(ST_Y(geom)), max(ST_Y(geom)), count(nearest_village_code) FROM hotspot"
    ).fetchone()
    # the Americas (USA, Hawaii, Caribbean): nowhere near a Chinese village
    assert stats == (589, 460, 81, -155.28763, -68.99541, 17.83304, 48.09379, 0)


def test_viirs_sample_loads_and_is_far_from_every_village(db, tmp_path: Path) -> None:
    s = ingest_file(db, VIIRS, data_dir=tmp_path)
    assert s.status == "loaded" and s.loaded == {"hotspot": 545}
    classes = dict(
        db.execute("SELECT confidence_class, count(*) FROM hotspot GROUP BY 1").fetchall()
    )
    assert classes == {"nominal": 496, "low": 41, "high": 8}
    row = db.execute(
        "SELECT instrument, satellite, acquired_at, brightness_k, bright_t31_k, confidence_pct,"
        " version FROM hotspot WHERE longitude = 101.67464 AND latitude = 26.5659"
    ).fetchone()
    assert row == (
        "VIIRS",
        "N",
        datetime(2025, 6, 27, 5, 44, tzinfo=UTC),
        327.59,
        299.34,
        None,
        "2.0NRT",
    )
    stats = db.execute(
        "SELECT min(ST_X(geom)), max(ST_X(geom)), min(ST_Y(geom)), max(ST_Y(geom)),"
        " count(nearest_village_code), min(acquired_at)::date, max(acquired_at)::date FROM hotspot"
    ).fetchone()
    # South Asia; the eastmost detections (Yunnan, ~101.85 E) are ~760 km from Mayang
    assert stats[:5] == (54.04304, 101.85111, 5.72503, 39.99918, 0)
    assert [str(d) for d in stats[5:]] == ["2025-06-27", "2025-06-28"]


def test_same_file_twice_is_a_duplicate(db, tmp_path: Path) -> None:
    first = ingest_file(db, VIIRS, data_dir=tmp_path)
    second = ingest_file(db, VIIRS, data_dir=tmp_path)
    assert first.status == "loaded" and second.status == "duplicate"
    assert db.execute("SELECT count(*) FROM hotspot").fetchone() == (545,)
    copy = write(tmp_path, "again.csv", VIIRS.read_text() + "\n")
    third = ingest_file(db, copy, data_dir=tmp_path)
    assert third.loaded == {"hotspot": 0} and third.duplicates == 545


# -- generated files over the Mayang demo county ---------------------------------------------------


def test_area_api_variant_over_mayang_ties_hotspots_to_villages(db, tmp_path: Path) -> None:
    (c1, x1, y1), (c2, x2, y2) = villages(db, 2)
    xmax, ymax_at_east = db.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_DumpPoints(geom)).geom AS p FROM admin_unit"
        " WHERE code = '431226') d ORDER BY ST_X(p) DESC LIMIT 1"
    ).fetchone()
    near_x = xmax + 0.05  # ~5 km east of the county's eastmost point
    far_x = 110.9  # ~100 km east of Mayang
    path = write(
        tmp_path,
        "mayang_viirs_area_api.csv",
        AREA_API_HEADER
        + f"{y1:.5f},{x1:.5f},340.1,0.4,0.6,2026-07-02,603,N20,VIIRS,n,2.0NRT,290.5,5.5,D\n"
        + f"{y2:.5f},{x2:.5f},355.0,0.4,0.6,2026-07-02,0603,N20,VIIRS,h,2.0NRT,291.0,12.0,D\n"
        + f"{ymax_at_east:.5f},{near_x:.5f},330.0,0.4,0.6,2026-07-02,1755,N20,VIIRS,l,2.0NRT,289.0,"
        "2.0,N\n"
        + f"27.80000,{far_x:.5f},330.0,0.4,0.6,2026-07-02,5,N20,VIIRS,l,2.0NRT,289.0,2.0,N\n",
    )
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "hotspots" and s.status == "loaded" and s.loaded == {"hotspot": 4}
    rows = db.execute(
        "SELECT acquired_at, confidence_class, nearest_village_code, distance_km, ST_X(geom)"
        " FROM hotspot ORDER BY ST_X(geom) = %s, acquired_at, frp_mw",
        (far_x,),
    ).fetchall()
    by_x = {round(r[4], 5): r for r in rows}
    assert by_x[round(x1, 5)][:4] == (datetime(2026, 7, 2, 6, 3, tzinfo=UTC), "nominal", c1, 0.0)
    assert by_x[round(x2, 5)][:4] == (datetime(2026, 7, 2, 6, 3, tzinfo=UTC), "high", c2, 0.0)
    near = by_x[round(near_x, 5)]
    ref_code, ref_km = nearest(db, round(near_x, 5), round(ymax_at_east, 5))
    assert 4.0 < ref_km < NEAREST_VILLAGE_KM  # outside the county, tied to its nearest village
    assert near[2] == ref_code and near[3] == pytest.approx(ref_km, abs=1e-6)
    assert near[0] == datetime(2026, 7, 2, 17, 55, tzinfo=UTC)
    far = by_x[far_x]
    assert far[:4] == (datetime(2026, 7, 2, 0, 5, tzinfo=UTC), "low", None, None)
    assert nearest(db, far_x, 27.8)[1] > NEAREST_VILLAGE_KM


def test_generated_modis_over_mayang_every_hotspot_matches_brute_force(db, tmp_path: Path) -> None:
    lines = []
    points = []
    for i in range(12):
        lon = 109.40 + i * 0.05  # across the county and beyond its edges
        lat = 27.50 + (i % 6) * 0.11
        points.append((round(lon, 5), round(lat, 5)))
        lines.append(
            f"{lat:.5f},{lon:.5f},320.5,1.0,1.0,2026-03-01,{215 + i},A,{40 + i},6.1NRT,"
            f"290.0,7.5,D\n"
        )
    s = ingest_file(
        db, write(tmp_path, "mayang_modis.csv", MODIS_HEADER + "".join(lines)), data_dir=tmp_path
    )
    assert s.status == "loaded" and s.loaded == {"hotspot": 12}
    got = {
        (float(r[0]), float(r[1])): (r[2], r[3])
        for r in db.execute(
            "SELECT longitude, latitude, nearest_village_code, distance_km FROM hotspot"
        )
    }
    tied = 0
    for lon, lat in points:
        code, km = nearest(db, lon, lat)
        if km <= NEAREST_VILLAGE_KM:
            tied += 1
            assert got[(lon, lat)][0] == code and got[(lon, lat)][1] == pytest.approx(km, abs=1e-6)
        else:
            assert got[(lon, lat)] == (None, None)
    assert tied >= 8  # most of the transect lies in or near the county


def test_duplicated_hotspots_in_one_file_are_counted_once(db, tmp_path: Path) -> None:
    row = "27.70000,109.70000,320.5,1.0,1.0,2026-03-01,0215,A,60,6.1NRT,290.0,7.5,D\n"
    # the same detection again, and once more with a longitude differing only beyond 5 decimals
    again = "27.70000,109.700001,320.5,1.0,1.0,2026-03-01,0215,A,60,6.1NRT,290.0,7.5,D\n"
    other_sat = "27.70000,109.70000,320.5,1.0,1.0,2026-03-01,0215,T,60,6.1NRT,290.0,7.5,D\n"
    s = ingest_file(
        db,
        write(tmp_path, "dups.csv", MODIS_HEADER + row + row + again + other_sat),
        data_dir=tmp_path,
    )
    assert s.status == "loaded" and s.loaded == {"hotspot": 2} and s.duplicates == 2


def test_bad_rows_are_quarantined_with_line_and_field(db, tmp_path: Path) -> None:
    good = "27.70000,109.70000,320.5,1.0,1.0,2026-03-01,0215,A,60,6.1NRT,290.0,7.5,D\n"
    text = (
        MODIS_HEADER
        + good
        + (
            "95.00000,109.70000,320.5,1.0,1.0,2026-03-01,0215,A,60,6.1NRT,290.0,7.5,D\n"  # line 3
            "27.71000,109.70000,320.5,1.0,1.0,2026-03-01,2561,A,60,6.1NRT,290.0,7.5,D\n"  # line 4
            "27.72000,109.70000,-999,1.0,1.0,2026-03-01,0215,A,60,6.1NRT,290.0,7.5,D\n"  # line 5
            "27.73000,109.70000,320.5,1.0,1.0,2026-03-01,0215,A,160,6.1NRT,290.0,7.5,D\n"  # line 6
            "27.74000,109.70000,320.5,1.0,1.0,2026-03-01,0215,A,60,6.1NRT,290.0,-4,D\n"  # line 7
            "27.75000,109.70000,99999,1.0,1.0,2026-03-01,0215,A,60,6.1NRT,290.0,7.5,D\n"  # line 8
            "27.76000,abc,320.5,1.0,1.0,2026-03-01,0215,A,60,6.1NRT,290.0,7.5,D\n"  # line 9
        )
    )
    s = ingest_file(db, write(tmp_path, "bad_rows.csv", text), data_dir=tmp_path)
    assert s.status == "partial" and s.loaded == {"hotspot": 1}
    assert {(p.record, p.field) for p in s.problems} == {
        ("line 3", "latitude"),
        ("line 4", "acq_date"),
        ("line 5", "brightness"),
        ("line 6", "confidence"),
        ("line 7", "frp"),
        ("line 8", "brightness"),
        ("line 9", "longitude"),
    }
    stored = db.execute(
        "SELECT count(*) FROM quarantine WHERE ingest_id = %s", (s.ingest_id,)
    ).fetchone()
    assert stored == (7,)
    viirs_bad = AREA_API_HEADER + (
        "27.70000,109.70000,340.1,0.4,0.6,2026-07-02,603,N20,VIIRS,maybe,2.0NRT,290.5,5.5,D\n"
        "27.70000,109.70000,340.1,0.4,0.6,2026-07-02,603,N20,MODIS,n,2.0NRT,290.5,5.5,D\n"
    )
    s = ingest_file(db, write(tmp_path, "viirs_bad.csv", viirs_bad), data_dir=tmp_path)
    assert s.rows_loaded == 0
    assert [(p.record, p.field) for p in s.problems] == [
        ("line 3", "instrument"),
        ("line 2", "confidence"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        (MODIS_HEADER, "no detections"),
        (
            "latitude,longitude,acq_date,acq_time,brightness\n1,2,2026-01-01,0000,300\n",
            "missing column",
        ),
    ],
)
def test_unreadable_firms_files_are_rejected(db, tmp_path: Path, text: str, message: str) -> None:
    s = ingest_file(db, write(tmp_path, "broken.csv", text), data_dir=tmp_path, kind="hotspots")
    assert s.status == "rejected" and message in s.message and "broken.csv" in s.message
    assert db.execute("SELECT count(*) FROM hotspot").fetchone() == (0,)


# -- fire danger ----------------------------------------------------------------------------


def test_fire_danger_csv_by_admin_code(db, tmp_path: Path) -> None:
    ((village, _x, _y),) = villages(db, 1)
    text = (
        "code,level,valid_from,valid_to,issuer\n"
        "431226,4,2026-03-01 08:00,2026-03-02 08:00,麻阳县气象局\n"  # naive → Beijing time
        f"{village},5,2026-03-01T00:00:00Z,2026-03-02T00:00:00Z,麻阳县气象局\n"
        "431299,3,2026-03-01 08:00,2026-03-02 08:00,x\n"  # unknown code
        "431226,6,2026-03-01 08:00,2026-03-02 08:00,x\n"  # level out of range
        "431226,2,2026-03-02 08:00,2026-03-01 08:00,x\n"  # ends before it starts
        "4312,2,2026-03-01 08:00,2026-03-02 08:00,x\n"  # not an admin code
    )
    path = write(tmp_path, "danger.csv", text)
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "fire-danger" and s.status == "partial" and s.loaded == {"fire_danger": 2}
    assert {(p.record, p.field) for p in s.problems} == {
        ("line 4", "code"),
        ("line 5", "level"),
        ("line 6", "valid_to"),
        ("line 7", "code"),
    }
    assert "unknown admin code '431299'" in {p.reason for p in s.problems}
    rows = db.execute(
        "SELECT f.area_code, f.level, f.colour, f.valid_from, f.valid_to, f.issuer,"
        " ST_Equals(f.geom, a.geom) FROM fire_danger f JOIN admin_unit a ON a.code = f.area_code"
        " ORDER BY f.area_code"
    ).fetchall()
    assert rows == [
        (
            "431226",
            4,
            "orange",
            datetime(2026, 3, 1, tzinfo=UTC),
            datetime(2026, 3, 2, tzinfo=UTC),
            "麻阳县气象局",
            True,
        ),
        (
            village,
            5,
            "red",
            datetime(2026, 3, 1, tzinfo=UTC),
            datetime(2026, 3, 2, tzinfo=UTC),
            "麻阳县气象局",
            True,
        ),
    ]
    assert ingest_file(db, path, data_dir=tmp_path).status == "duplicate"
    again = write(tmp_path, "danger2.csv", text + "\n")
    s2 = ingest_file(db, again, data_dir=tmp_path)
    assert s2.loaded == {"fire_danger": 0} and s2.duplicates == 2
    assert db.execute("SELECT count(*) FROM fire_danger").fetchone() == (2,)


def test_fire_danger_geojson(db, tmp_path: Path) -> None:
    square = [[[109.5, 27.6], [109.7, 27.6], [109.7, 27.8], [109.5, 27.8], [109.5, 27.6]]]
    bowtie = [[[109.5, 27.6], [109.7, 27.8], [109.7, 27.6], [109.5, 27.8], [109.5, 27.6]]]
    doc = {
        "type": "FeatureCollection",
        "name": "森林火险等级预报",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "火险等级": "四级",
                    "valid_from": "2026-03-01 08:00",
                    "valid_to": "2026-03-02 08:00",
                    "issuer": "怀化市",
                },
                "geometry": {"type": "Polygon", "coordinates": square},
            },
            {
                "type": "Feature",
                "properties": {
                    "火险等级": 3,
                    "valid_from": "2026-03-01 08:00",
                    "valid_to": "2026-03-02 08:00",
                },
                "geometry": {"type": "Polygon", "coordinates": bowtie},
            },
        ],
    }
    path = write(tmp_path, "danger.geojson", json.dumps(doc, ensure_ascii=False))
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "fire-danger" and s.status == "partial" and s.loaded == {"fire_danger": 1}
    (p,) = s.problems
    assert p.record == "feature 2" and p.field == "geometry" and "Self-intersection" in p.reason
    row = db.execute(
        "SELECT level, colour, area_code, issuer, ST_Area(geom), valid_from FROM fire_danger"
    ).fetchone()
    assert row[:4] == (4, "orange", None, "怀化市")
    assert row[4] == pytest.approx(0.04) and row[5] == datetime(2026, 3, 1, tzinfo=UTC)


def test_detection(db) -> None:
    available = feeds()
    for path in FIRE.glob("*.csv"):
        assert detect(path, path.read_bytes()[:4096], available).kind == "hotspots"
    mine = [available[k] for k in KINDS]
    for path in [
        *SHARED_DATA.glob("quakes/**/*.*"),
        *SHARED_DATA.glob("nws/*.json"),
        *SHARED_DATA.glob("hydro/*"),
        *SHARED_DATA.glob("cap/**/*.xml"),
    ]:
        if path.is_file():
            assert not any(f.sniff(path, path.read_bytes()[:4096]) for f in mine), path
