"""Earthquake feeds (USGS GeoJSON, QuakeML 1.2 / 1.0) against real PostGIS and real samples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from riskmap.ingest.pipeline import ingest_file
from riskmap.ingest.registry import detect, feeds
from tests.conftest import SHARED_DATA

QUAKES = SHARED_DATA / "quakes"
QUAKEML = QUAKES / "quakeml"
KINDS = ("earthquakes", "quakeml")


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection; every earthquake row and log of these kinds is removed afterwards."""
    with psycopg.connect(db_url) as conn:
        yield conn
        conn.rollback()
        conn.execute("DELETE FROM earthquake")
        conn.execute("DELETE FROM ingest_log WHERE kind = ANY(%s)", (list(KINDS),))
        conn.commit()


def count(conn: psycopg.Connection, where: str = "true", params: tuple = ()) -> int:
    return conn.execute(f"SELECT count(*) FROM earthquake WHERE {where}", params).fetchone()[0]


def feature(
    eid: str,
    *,
    mag=3.0,
    updated=1_700_000_000_000,
    lon=109.6,
    lat=27.8,
    depth=10.0,
    time=1_699_999_000_000,
) -> dict:
    return {
        "type": "Feature",
        "id": eid,
        "properties": {
            "mag": mag,
            "place": "test place",
            "time": time,
            "updated": updated,
            "status": "automatic",
            "magType": "ml",
            "type": "earthquake",
        },
        "geometry": {"type": "Point", "coordinates": [lon, lat, depth]},
    }


def write_feed(tmp: Path, name: str, features: list[dict], pad: str = "") -> Path:
    path = tmp / name
    doc = {"type": "FeatureCollection", "metadata": {"count": len(features)}, "features": features}
    path.write_text(json.dumps(doc) + pad, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "n"),
    [
        ("usgs_all_day_2018-06.geojson", 733),  # metadata count 733, 733 distinct ids
        ("usgs_all_day_2014-04.geojson", 146),  # metadata count 146
        ("usgs_significant_month_2013-07.geojson", 6),  # the OLD variant, count 6
    ],
)
def test_every_usgs_sample_loads_whole(db, tmp_path: Path, name: str, n: int) -> None:
    s = ingest_file(db, QUAKES / name, data_dir=tmp_path)
    assert s.kind == "earthquakes" and s.status == "loaded", s.problems
    assert s.loaded == {"earthquake": n} and count(db) == n


def test_usgs_2018_values(db, tmp_path: Path) -> None:
    ingest_file(db, QUAKES / "usgs_all_day_2018-06.geojson", data_dir=tmp_path)
    row = db.execute(
        "SELECT source, origin_time, magnitude, mag_type, depth_km, place, status, event_type,"
        " ST_X(geom), ST_Y(geom), updated_at FROM earthquake WHERE event_id = 'hv70312366'"
    ).fetchone()
    assert row == (
        "usgs-geojson",
        datetime(2018, 6, 24, 5, 59, 50, 90000, tzinfo=UTC),  # 1529819990090 ms
        1.81,
        "md",
        0.73,
        "4km SW of Volcano, Hawaii",
        "automatic",
        "earthquake",
        -155.2633362,
        19.4028339,
        datetime(2018, 6, 24, 6, 2, 45, 930000, tzinfo=UTC),  # 1529820165930 ms
    )
    assert count(db, "event_type = 'volcanic eruption'") == 1
    assert count(db, "status = 'reviewed'") == 84 and count(db, "status = 'automatic'") == 649


def test_usgs_old_variants_are_normalised(db, tmp_path: Path) -> None:
    ingest_file(db, QUAKES / "usgs_significant_month_2013-07.geojson", data_dir=tmp_path)
    row = db.execute(
        "SELECT magnitude, mag_type, status, place, depth_km FROM earthquake"
        " WHERE event_id = 'usb000ije3'"
    ).fetchone()
    assert row == (5.9, "mwp", "reviewed", "13km E of Chabu, China", 9.84)  # 'Mwp', 'REVIEWED'
    assert count(db, "status = 'reviewed'") == 6
    ingest_file(db, QUAKES / "usgs_all_day_2014-04.geojson", data_dir=tmp_path)
    # 2014: 61 'automatic' + 34 'AUTOMATIC', 46 'reviewed' + 5 'REVIEWED', one quarry
    assert count(db, "status = 'automatic'") == 95
    assert count(db, "status = 'reviewed'") == 6 + 51
    assert count(db, "event_type = 'quarry'") == 1


def test_quakeml_samples(db, tmp_path: Path) -> None:
    s = ingest_file(db, QUAKEML / "emsc_neries_events_quakeml1.0.xml", data_dir=tmp_path)
    assert s.kind == "quakeml" and s.status == "loaded" and s.loaded == {"earthquake": 3}
    emsc = db.execute(
        "SELECT event_id, depth_km, magnitude, mag_type, place, event_type, updated_at"
        " FROM earthquake ORDER BY origin_time"
    ).fetchall()
    assert [(r[1], r[2], r[3], r[4]) for r in emsc] == [
        (7.0, 3.0, "ml", "CENTRAL TURKEY"),  # depth 7000 m
        (14.4, 4.3, "ml", "EASTERN TURKEY"),
        (1.0, 4.4, "mb", "KYRGYZSTAN"),
    ]
    assert {r[5] for r in emsc} == {None}  # <type>null</type>
    assert emsc[0][6] == datetime(2012, 4, 4, 16, 40, 50, tzinfo=UTC)

    s = ingest_file(db, QUAKEML / "iris_fdsn_events.xml", data_dir=tmp_path)
    assert s.loaded == {"earthquake": 2}
    tohoku = db.execute(
        "SELECT origin_time, magnitude, mag_type, depth_km, ST_X(geom), ST_Y(geom)"
        " FROM earthquake WHERE event_id = 'smi:www.iris.edu/ws/event/query?eventId=3279407'"
    ).fetchone()
    assert tohoku == (
        datetime(2011, 3, 11, 5, 46, 24, 120000, tzinfo=UTC),
        9.1,
        "mw",
        29.0,
        142.373,
        38.297,
    )

    s = ingest_file(db, QUAKEML / "qml-example-1.2-RC3.xml", data_dir=tmp_path)
    assert s.loaded == {"earthquake": 1}
    nz = db.execute(
        "SELECT depth_km, magnitude, status FROM earthquake"
        " WHERE event_id = 'smi:nz.org.geonet/event/2806038g'"
    ).fetchone()
    assert nz[0] == pytest.approx(0.1555297) and nz[1:] == (3.662, "confirmed")

    # a focal-mechanism-only event has no origin: quarantined, named, nothing loaded
    s = ingest_file(db, QUAKEML / "quakeml_1.2_focalmechanism.xml", data_dir=tmp_path)
    assert s.status == "partial" and s.rows_loaded == 0
    assert [str(p) for p in s.problems] == [
        "event 1 (smi:ISC/evid=11713537), field origin: event has no origin (no time or location)"
    ]
    assert count(db) == 6


def test_same_file_twice_is_a_duplicate(db, tmp_path: Path) -> None:
    path = QUAKES / "usgs_all_day_2014-04.geojson"
    first = ingest_file(db, path, data_dir=tmp_path)
    before = db.execute(
        "SELECT event_id, updated_at, ingest_id FROM earthquake ORDER BY 1"
    ).fetchall()
    second = ingest_file(db, path, data_dir=tmp_path)
    assert first.status == "loaded" and second.status == "duplicate"
    assert second.ingest_id == first.ingest_id
    after = db.execute(
        "SELECT event_id, updated_at, ingest_id FROM earthquake ORDER BY 1"
    ).fetchall()
    assert after == before
    # the same events in other bytes: nothing newer, so every row is a duplicate
    copy = tmp_path / "copy.geojson"
    copy.write_bytes(path.read_bytes() + b"\n")
    third = ingest_file(db, copy, data_dir=tmp_path, kind="earthquakes")
    assert third.loaded == {"earthquake": 0} and third.duplicates == 146


def test_newer_version_updates_older_never_overwrites(db, tmp_path: Path) -> None:
    v1 = write_feed(tmp_path, "v1.geojson", [feature("tq1", mag=3.0, updated=1000)])
    v2 = write_feed(tmp_path, "v2.geojson", [feature("tq1", mag=3.6, updated=2000)])
    assert ingest_file(db, v1, data_dir=tmp_path).loaded == {"earthquake": 1}
    s2 = ingest_file(db, v2, data_dir=tmp_path)
    assert s2.loaded == {"earthquake": 1} and s2.duplicates == 0
    assert db.execute("SELECT magnitude FROM earthquake WHERE event_id='tq1'").fetchone() == (3.6,)
    # the old version arriving late (new bytes, so not caught by the content hash)
    late = write_feed(tmp_path, "late.geojson", [feature("tq1", mag=3.0, updated=1000)], " ")
    s3 = ingest_file(db, late, data_dir=tmp_path)
    assert s3.loaded == {"earthquake": 0} and s3.duplicates == 1
    row = db.execute(
        "SELECT magnitude, updated_at, ingest_id FROM earthquake WHERE event_id='tq1'"
    ).fetchone()
    assert row == (3.6, datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC), s2.ingest_id)


def test_out_of_range_values_are_quarantined_good_ones_load(db, tmp_path: Path) -> None:
    bad_geom = feature("tqbad5")
    bad_geom["geometry"] = None
    no_time = feature("tqbad6")
    no_time["properties"]["time"] = None
    path = write_feed(
        tmp_path,
        "mixed.geojson",
        [
            feature("tqok1"),
            feature("tqbad1", mag=11.2),
            feature("tqbad2", depth=900.0),
            feature("tqbad3", lat=95.0),
            feature("tqbad4", lon=-181.0),
            bad_geom,
            no_time,
            feature("tqok2", mag=None, depth=-3.2),  # null magnitude is allowed
        ],
    )
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "partial" and s.loaded == {"earthquake": 2}
    got = {(p.record, p.field) for p in s.problems}
    assert got == {
        ("feature 2 (tqbad1)", "mag"),
        ("feature 3 (tqbad2)", "depth"),
        ("feature 4 (tqbad3)", "latitude"),
        ("feature 5 (tqbad4)", "longitude"),
        ("feature 6 (tqbad5)", "geometry"),
        ("feature 7 (tqbad6)", "time"),
    }
    reasons = {p.field: p.reason for p in s.problems}
    assert reasons["mag"] == "magnitude 11.2 outside -2..10"
    assert reasons["depth"] == "depth 900.0 km outside -10..800 km"
    quarantined = db.execute(
        "SELECT count(*) FROM quarantine WHERE ingest_id = %s", (s.ingest_id,)
    ).fetchone()[0]
    assert quarantined == 6
    assert [r[0] for r in db.execute("SELECT event_id FROM earthquake ORDER BY 1")] == [
        "tqok1",
        "tqok2",
    ]


@pytest.mark.parametrize(
    ("content", "kind", "message"),
    [
        (b"", "earthquakes", "empty file"),
        (b"   \n", "quakeml", "empty file"),
        (b'{"type": "FeatureCollection", "features": []}', "earthquakes", "no events"),
        (b"{not json", "earthquakes", "not JSON"),
        (
            b'<?xml version="1.0"?><q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.2"'
            b' xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters publicID="x">'
            b"<event publicID=",
            "quakeml",
            "not well-formed XML",
        ),
        (
            b'<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>',
            "quakeml",
            "not QuakeML",
        ),
    ],
)
def test_unreadable_files_are_rejected_whole(
    db, tmp_path: Path, content: bytes, kind: str, message: str
) -> None:
    path = tmp_path / f"bad.{'xml' if kind == 'quakeml' else 'geojson'}"
    path.write_bytes(content)
    s = ingest_file(db, path, data_dir=tmp_path, kind=kind)
    assert s.status == "rejected" and message in s.message and "bad." in s.message
    assert count(db) == 0


def test_quakeml_with_entities_is_refused(db, tmp_path: Path) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE q [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.2"'
        ' xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters publicID="smi:x">'
        '<event publicID="smi:x/1"><description><text>&x;</text></description>'
        "<origin publicID='smi:x/o'><time><value>2020-01-01T00:00:00Z</value></time>"
        "<latitude><value>1</value></latitude><longitude><value>1</value></longitude></origin>"
        "</event></eventParameters></q:quakeml>",
        encoding="utf-8",
    )
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "quakeml" and s.status == "rejected" and "DOCTYPE" in s.message
    assert count(db) == 0


def test_detection_picks_the_right_kind_and_leaves_others_alone(db) -> None:
    available = feeds()
    for path in QUAKES.glob("*.geojson"):
        assert detect(path, path.read_bytes()[:4096], available).kind == "earthquakes"
    for path in QUAKEML.glob("*.xml"):
        assert detect(path, path.read_bytes()[:4096], available).kind == "quakeml"
    mine = [available[k] for k in KINDS]
    others = [
        *SHARED_DATA.glob("cap/**/*.xml"),
        *SHARED_DATA.glob("nws/*.json"),
        *SHARED_DATA.glob("fire/*.csv"),
        *QUAKEML.glob("schema/*"),
    ]
    for path in others:
        head = path.read_bytes()[:4096]
        assert not any(f.sniff(path, head) for f in mine), path
