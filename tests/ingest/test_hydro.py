"""Station hydrology feeds (SL 323 CSV/JSON, WaterML 2.0, NWIS JSON) against real PostGIS."""

from __future__ import annotations

import json
import os
import re
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from riskmap.geo.gauge_rain import write_village_gauge_rain
from riskmap.ingest.pipeline import ingest_file
from riskmap.ingest.registry import feeds
from tests.conftest import SHARED_DATA

BEIJING = timezone(timedelta(hours=8))  # SL 323 times are Beijing time

HYDRO = SHARED_DATA / "hydro"
POTOMAC = HYDRO / "usgs_waterml2_dv_01646500_potomac.xml"
NWIS_IV = HYDRO / "usgs_nwis_iv_json_01491000_01645000.json"
NWIS_DV = HYDRO / "usgs_nwis_dv_json_01491000_01645000.json"
CFS = 0.028316846592
FT = 0.3048
KINDS = ("hydro-sl323", "hydro-waterml2", "hydro-nwis-json")
USGS_SITES = ("01646500", "01491000", "01645000")

STATIONS_CSV = (
    "STCD,STNM,RVNM,HNNM,BSNM,LGTD,LTTD,STLC,ADDVCD,STTP,ADMAUTH\n"
    "T0000001,高村雨量站,锦江,沅江,长江,109.80,27.87,麻阳县高村乡,431226,PP,麻阳县水利局\n"
    "T0000002,锦和水文站,锦江,沅江,长江,109.70,27.90,麻阳县锦和镇,431226,ZQ,麻阳县水利局\n"
    "T0000003,兰里水库,兰里溪,沅江,长江,109.60,27.80,麻阳县兰里镇,431226,RR,麻阳县水利局\n"
)


def _cleanup(conn: psycopg.Connection) -> None:
    conn.rollback()
    kinds = list(KINDS)
    logs = "SELECT id FROM ingest_log WHERE kind = ANY(%s)"
    for table in ("rain_obs", "river_obs", "reservoir_obs", "village_rain"):
        conn.execute(f"DELETE FROM {table} WHERE ingest_id IN ({logs})", (kinds,))
    conn.execute("DELETE FROM village_rain WHERE product = 'gauge' AND source_ref LIKE 'T%'")
    conn.execute("DELETE FROM station WHERE stcd LIKE 'T%%' OR stcd = ANY(%s)", (list(USGS_SITES),))
    conn.execute("DELETE FROM ingest_log WHERE kind = ANY(%s)", (kinds,))
    conn.execute(
        "DELETE FROM dataset d WHERE id = 'ingest-stations'"
        " AND NOT EXISTS (SELECT 1 FROM station s WHERE s.dataset_id = d.id)"
    )
    conn.commit()


@pytest.fixture
def db(db_url: str, mayang):
    # autocommit: lookups in the test never leave a transaction open for ingest_file
    with psycopg.connect(db_url, autocommit=True) as conn:
        _cleanup(conn)
        yield conn
        _cleanup(conn)


def write(tmp: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp / name
    path.write_bytes(text.encode(encoding))
    return path


def stations(db, tmp_path: Path) -> None:
    """Register the test stations T0000001-3 (GBK encoded, as Chinese exports often are)."""
    s = ingest_file(db, write(tmp_path, "ST_STBPRP_B.csv", STATIONS_CSV, "gbk"), data_dir=tmp_path)
    assert s.status == "loaded", s.problems


def count(db, sql: str, *params) -> int:
    return db.execute(sql, params or None).fetchone()[0]


# -- SL 323 CSV --------------------------------------------------------------------------


def test_gbk_station_file_registers_stations_in_their_own_dataset(db, tmp_path: Path) -> None:
    path = write(tmp_path, "ST_STBPRP_B.csv", STATIONS_CSV, "gbk")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.kind == "hydro-sl323" and s.status == "loaded"
    assert s.loaded == {"dataset": 1, "station": 3}
    row = db.execute(
        "SELECT stnm, sttp, rvnm, addvcd, dataset_id, ST_X(geom), ST_Y(geom) FROM station"
        " WHERE stcd = 'T0000001'"
    ).fetchone()
    assert row == ("高村雨量站", "PP", "锦江", "431226", "ingest-stations", 109.8, 27.87)
    assert db.execute("SELECT synthetic FROM dataset WHERE id = 'ingest-stations'").fetchone() == (
        False,
    )
    # an update of the same stations (new name) replaces the row, not adds one
    again = write(tmp_path, "st_stbprp_b_2.csv", STATIONS_CSV.replace("高村雨量站", "高村站"))
    s2 = ingest_file(db, again, data_dir=tmp_path)
    assert s2.status == "loaded" and s2.loaded == {"station": 3}
    assert count(db, "SELECT count(*) FROM station WHERE stcd LIKE 'T%'") == 3
    assert db.execute("SELECT stnm FROM station WHERE stcd = 'T0000001'").fetchone() == ("高村站",)


def test_rain_csv_naive_beijing_time_becomes_utc_and_offsets_are_honoured(
    db, tmp_path: Path
) -> None:
    stations(db, tmp_path)
    text = (
        "\ufeffstcd,tm,drp,intv,pdr,dyp,wth\n"  # UTF-8 BOM, lower-case header
        "T0000001,2024-07-01 08:00:00,1.5,1.00,,,7\n"
        "T0000001,2024-07-01T09:00,2.0,1.00,,,\n"
        "T0000001,2024-07-01 10:00:00+08:00,0.5,1.00,,,\n"
        "T0000001,2024-07-01T02:30:00Z,4.0,0.30,,,\n"
        "\n"
        "T0000001,2024/07/02 08:00:00,12.0,24.00,,12.0,\n"
    )
    s = ingest_file(db, write(tmp_path, "rain.csv", text), data_dir=tmp_path)
    assert s.status == "loaded", s.problems
    assert s.loaded["rain_obs"] == 5
    rows = db.execute(
        "SELECT tm, drp, intv, dyp, wth FROM rain_obs WHERE stcd = 'T0000001' ORDER BY tm"
    ).fetchall()
    utc = [r[0].astimezone(UTC).replace(tzinfo=None) for r in rows]
    assert utc == [
        datetime(2024, 7, 1, 0),
        datetime(2024, 7, 1, 1),
        datetime(2024, 7, 1, 2),
        datetime(2024, 7, 1, 2, 30),
        datetime(2024, 7, 2, 0),
    ]
    assert [r[1] for r in rows] == [1.5, 2.0, 0.5, 4.0, 12.0]
    assert rows[0][4] == "7" and rows[4][3] == 12.0 and float(rows[3][2]) == 0.3
    log = db.execute(
        "SELECT valid_from, valid_to FROM ingest_log WHERE id = %s", (s.ingest_id,)
    ).fetchone()
    assert log == (datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 7, 2, tzinfo=UTC))


def test_river_and_reservoir_csv_tables_by_columns_and_by_name(db, tmp_path: Path) -> None:
    stations(db, tmp_path)
    river = (
        "STCD,TM,Z,Q,XSA,XSAVV,XSMXV,FLWCHRCD,WPTN,MSQMT,MSAMT,MSVMT\n"
        "T0000002,2024-07-01 08:00:00,152.31,320.5,410,,,,5,2,,\n"
        "T0000002,2024-07-01 09:00:00,152.40,,,,,,6,,,\n"
    )
    s = ingest_file(db, write(tmp_path, "export1.csv", river), data_dir=tmp_path)
    assert s.status == "loaded" and s.loaded == {"river_obs": 2}
    assert db.execute(
        "SELECT z, q, xsa, wptn FROM river_obs WHERE stcd = 'T0000002' ORDER BY tm"
    ).fetchall() == [(152.31, 320.5, 410.0, 5), (152.4, None, None, 6)]
    rsvr = (
        "stcd\trz\tinq\tw\totq\trwptn\ttm\nT0000003\t210.5\t35.2\t12.8\t20.1\t5\t2024-07-01 08:00\n"
    )
    s = ingest_file(db, write(tmp_path, "ST_RSVR_R.txt", rsvr), data_dir=tmp_path)
    assert s.status == "loaded" and s.loaded == {"reservoir_obs": 1}
    assert db.execute(
        "SELECT rz, inq, otq, w, rwptn, tm FROM reservoir_obs WHERE stcd = 'T0000003'"
    ).fetchone() == (210.5, 35.2, 20.1, 12.8, 5, datetime(2024, 7, 1, 0, tzinfo=UTC))


def test_bad_records_are_quarantined_and_good_ones_load(db, tmp_path: Path) -> None:
    stations(db, tmp_path)
    text = (
        "STCD,TM,DRP,INTV\n"
        "T0000001,2024-07-01 08:00:00,1.0,1.00\n"  # line 2: superseded by line 10
        "T0000001,2024-07-01 09:00:00,-3.0,1.00\n"  # 3 negative
        "T0000001,2024-07-01 10:00:00,99999,1.00\n"  # 4 sentinel
        "T0000001,2024-07-01 11:00:00,-99,1.00\n"  # 5 sentinel
        "T0000001,2024-07-01 12:00:00,350,1.00\n"  # 6 > 300 mm in an hour
        "T0000001,2024-07-01 25:00:00,1.0,1.00\n"  # 7 unreadable time
        "X9999999,2024-07-01 08:00:00,1.0,1.00\n"  # 8 unknown station
        "T0000001,2024-07-01 13:00:00,lots,1.00\n"  # 9 not a number
        "T0000001,2024-07-01 08:00:00,2.5,1.00\n"  # 10 same key as line 2: wins
        "T0000001,2024-07-02 08:00:00,350,24.00\n"  # 11 a day of 350 mm is possible
        "T0000001,2024-07-01 14:00:00,0.5,0.05\n"  # 12 five minutes
        "T00001,2024-07-01 14:00:00,0.5,1.00\n"  # 13 bad code
    )
    s = ingest_file(db, write(tmp_path, "ST_PPTN_R_bad.csv", text), data_dir=tmp_path)
    assert s.status == "partial"
    assert s.loaded["rain_obs"] == 3 and s.duplicates == 1
    got = {p.record: (p.field, p.reason) for p in s.problems}
    assert set(got) == {f"line {i}" for i in (3, 4, 5, 6, 7, 8, 9, 13)}
    assert got["line 3"] == ("DRP", "negative rainfall -3 mm")
    assert got["line 4"][0] == "DRP" and "sentinel value 99999" in got["line 4"][1]
    assert "sentinel value -99" in got["line 5"][1]
    assert (
        got["line 6"][0] == "DRP" and "350 mm in an interval of an hour or less" in got["line 6"][1]
    )
    assert got["line 7"] == (
        "TM",
        "unreadable time '2024-07-01 25:00:00' (expected YYYY-MM-DD HH:MM:SS)",
    )
    assert got["line 8"] == ("STCD", "unknown station STCD 'X9999999'")
    assert got["line 9"] == ("DRP", "'lots' is not a number")
    assert got["line 13"][0] == "STCD" and "8-character" in got["line 13"][1]
    stored = db.execute(
        "SELECT record, field, reason, raw FROM quarantine WHERE ingest_id = %s ORDER BY id",
        (s.ingest_id,),
    ).fetchall()
    assert len(stored) == 8 and json.loads(stored[0][3])["DRP"] == "-3.0"
    rows = db.execute(
        "SELECT tm AT TIME ZONE 'Asia/Shanghai', drp FROM rain_obs WHERE stcd = 'T0000001'"
        " ORDER BY tm"
    ).fetchall()
    assert rows == [
        (datetime(2024, 7, 1, 8), 2.5),
        (datetime(2024, 7, 1, 14), 0.5),
        (datetime(2024, 7, 2, 8), 350.0),
    ]


def test_csv_without_sl323_columns_is_rejected_with_the_expected_columns(
    db, tmp_path: Path
) -> None:
    path = write(tmp_path, "ST_foo.csv", "station,time,rain\nA,2024-07-01,1\n")
    s = ingest_file(db, path, data_dir=tmp_path, kind="hydro-sl323")
    assert s.status == "rejected"
    assert "no recognisable SL 323 columns" in s.message and "ST_foo.csv" in s.message
    for expected in ("ST_PPTN_R: STCD, TM, DRP", "ST_RIVER_R: STCD, TM and one of Z, Q"):
        assert expected in s.message
    # a file named after a table must have that table's columns
    named = write(tmp_path, "ST_RIVER_R_1.csv", "STCD,TM,DRP\nT0000001,2024-07-01 08:00:00,1\n")
    s = ingest_file(db, named, data_dir=tmp_path)
    assert (
        s.status == "rejected" and "ST_RIVER_R needs columns STCD, TM and one of Z, Q" in s.message
    )


def test_empty_files_are_rejected(db, tmp_path: Path) -> None:
    empty = write(tmp_path, "ST_PPTN_R_empty.csv", "")
    s = ingest_file(db, empty, data_dir=tmp_path, kind="hydro-sl323")
    assert s.status == "rejected" and "empty file" in s.message
    header_only = write(tmp_path, "ST_PPTN_R_h.csv", "STCD,TM,DRP\n")
    s = ingest_file(db, header_only, data_dir=tmp_path)
    assert s.status == "rejected" and "no data rows" in s.message
    s = ingest_file(db, write(tmp_path, "e.json", "[]"), data_dir=tmp_path, kind="hydro-sl323")
    assert s.status == "rejected" and "no records" in s.message
    assert count(db, "SELECT count(*) FROM rain_obs WHERE stcd LIKE 'T%'") == 0


def test_same_file_twice_is_a_duplicate_and_changes_nothing(db, tmp_path: Path) -> None:
    stations(db, tmp_path)
    text = (
        "STCD,TM,DRP,INTV\n"
        "T0000001,2024-07-01 08:00:00,1.0,1.00\n"
        "T0000001,2024-07-01 09:00:00,2.0,1.00\n"
    )
    path = write(tmp_path, "r.csv", text)
    first = ingest_file(db, path, data_dir=tmp_path)
    state = db.execute("SELECT stcd, tm, drp, ingest_id FROM rain_obs ORDER BY 1, 2").fetchall()
    gauge = count(db, "SELECT count(*) FROM village_rain WHERE product = 'gauge'")
    second = ingest_file(db, path, data_dir=tmp_path)
    assert first.status == "loaded" and second.status == "duplicate"
    assert second.ingest_id == first.ingest_id
    assert (
        db.execute("SELECT stcd, tm, drp, ingest_id FROM rain_obs ORDER BY 1, 2").fetchall()
        == state
    )
    assert count(db, "SELECT count(*) FROM village_rain WHERE product = 'gauge'") == gauge
    # the same rows in another file (an overlapping export) are duplicates, not reloaded
    other = write(tmp_path, "r2.csv", text + "T0000001,2024-07-01 10:00:00,3.0,1.00\n")
    third = ingest_file(db, other, data_dir=tmp_path)
    assert third.loaded["rain_obs"] == 1 and third.duplicates == 2


def test_a_row_repeated_chunks_later_wins_but_an_earlier_ingests_row_is_kept(
    db, tmp_path: Path, monkeypatch
) -> None:
    """Rows read while they load: a key seen in an earlier chunk replaces the row this ingest
    wrote, never the row of an earlier ingest (ON CONFLICT DO NOTHING across files)."""
    from riskmap.ingest.feeds.hydro import sl323_csv as hydro

    monkeypatch.setattr(hydro, "CHUNK_ROWS", 2)
    stations(db, tmp_path)
    old = write(tmp_path, "old.csv", "STCD,TM,DRP,INTV\nT0000001,2024-07-01 08:00:00,5.0,1.00\n")
    assert ingest_file(db, old, data_dir=tmp_path).loaded == {"rain_obs": 1, "village_rain": 0}
    text = (
        "STCD,TM,DRP,INTV\n"
        "T0000001,2024-07-01 08:00:00,1.0,1.00\n"  # stored by the earlier ingest: kept
        "T0000001,2024-07-01 09:00:00,2.0,1.00\n"
        "T0000001,2024-07-01 10:00:00,3.0,1.00\n"  # chunk 2
        "T0000001,2024-07-01 09:00:00,2.5,1.00\n"  # repeats line 3: wins
        "T0000001,2024-07-01 08:00:00,1.5,1.00\n"  # chunk 3, repeats line 2: still kept
        "T0000001,2024-07-01 09:00:00,2.7,1.00\n"  # repeats line 3 again: the last wins
    )
    s = ingest_file(db, write(tmp_path, "ST_PPTN_R_new.csv", text), data_dir=tmp_path)
    assert s.status == "loaded" and s.loaded["rain_obs"] == 2 and s.duplicates == 4
    stored = db.execute(
        "SELECT tm, drp, ingest_id = %s FROM rain_obs WHERE stcd = 'T0000001' ORDER BY tm",
        (s.ingest_id,),
    ).fetchall()
    hour = [datetime(2024, 7, 1, h, tzinfo=BEIJING) for h in (8, 9, 10)]
    assert stored == [(hour[0], 5.0, False), (hour[1], 2.7, True), (hour[2], 3.0, True)]
    valid = db.execute(
        "SELECT valid_from, valid_to FROM ingest_log WHERE id = %s", (s.ingest_id,)
    ).fetchone()
    assert valid == (hour[0], hour[2])


@pytest.mark.parametrize("long_at", range(7))
def test_a_row_too_long_anywhere_rejects_the_file_and_keeps_nothing(
    db, tmp_path: Path, monkeypatch, long_at: int
) -> None:
    """Chunks load while the file is read: a row with more fields than the header, at any place
    in any chunk (pandas' own chunked reader let the first row of a later chunk through with
    its extra field dropped), rejects the file whole, names its line, and rolls back the rows
    of the chunks before it."""
    from riskmap.ingest.feeds.hydro import sl323_csv as hydro

    monkeypatch.setattr(hydro, "CHUNK_ROWS", 2)
    stations(db, tmp_path)
    rows = [f"T0000001,2024-07-01 0{h}:00:00,1.0,1.00\n" for h in range(7)]
    rows[long_at] = rows[long_at].replace("\n", ",9\n")
    text = "STCD,TM,DRP,INTV\n" + "".join(rows)
    s = ingest_file(db, write(tmp_path, f"ST_PPTN_R_long{long_at}.csv", text), data_dir=tmp_path)
    assert s.status == "rejected" and "more fields than the header" in s.message
    assert f"line {long_at + 2}" in s.message, s.message
    assert count(db, "SELECT count(*) FROM rain_obs WHERE stcd = 'T0000001'") == 0
    log = db.execute("SELECT status FROM ingest_log WHERE id = %s", (s.ingest_id,)).fetchone()
    assert log == ("rejected",)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_chunks_cut_outside_quotes_and_count_lines_in_every_encoding(
    db, tmp_path: Path, monkeypatch, encoding: str
) -> None:
    """Chunks are cut at newlines outside quotes: a quoted field spanning two lines stays one
    row, and a bad row after it is reported on its own line of the file (counted by hand)."""
    from riskmap.ingest.feeds.hydro import sl323_csv as hydro

    monkeypatch.setattr(hydro, "CHUNK_ROWS", 2)
    stations(db, tmp_path)
    text = (
        "STCD,TM,DRP,INTV\n"  # line 1
        "T0000001,2024-07-01 00:00:00,1.0,1.00\n"  # 2
        '"T0000001","2024-07-01 01:00:00",2.0,"1.00"\n'  # 3
        'T0000001,"2024-07-01\n02:00:00",3.0,1.00\n'  # 4-5: one row, its time split over two lines
        "T0000001,2024-07-01 03:00:00,4.0,1.00\n"  # 6
        "T0000001,2024-07-01 04:00:00,-7,1.00\n"  # 7: negative rain, quarantined
        "T0000001,2024-07-01 05:00:00,6.0,1.00"  # 8, no newline at the end
    )
    path = tmp_path / "ST_PPTN_R_q.csv"
    path.write_bytes(text.encode(encoding))
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status in ("loaded", "partial"), s.message
    stored = db.execute(
        "SELECT extract(hour FROM tm AT TIME ZONE 'Asia/Shanghai')::int, drp FROM rain_obs"
        " WHERE stcd = 'T0000001' ORDER BY tm"
    ).fetchall()
    assert stored == [(0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0), (5, 6.0)]
    bad = db.execute(
        "SELECT record, field FROM quarantine WHERE ingest_id = %s ORDER BY record",
        (s.ingest_id,),
    ).fetchall()
    assert bad == [("line 7", "DRP")]


# -- SL 323 JSON ---------------------------------------------------------------------------


def test_json_list_table_object_and_bundle(db, tmp_path: Path) -> None:
    bundle = {
        "tables": [
            {
                "table": "ST_RIVER_R",
                "units": {"Z": "cm", "Q": "m3/s"},
                "rows": [
                    {"STCD": "T0000012", "TM": "2024-07-01 08:00:00", "Z": 15231, "Q": 320.5},
                    {"stcd": "T0000012", "tm": "2024-07-01 09:00:00", "z": "15240"},
                ],
            },
            {
                "table": "ST_STBPRP_B",
                "rows": [
                    {
                        "STCD": "T0000012",
                        "STNM": "测试水文站",
                        "STTP": "ZQ",
                        "LGTD": 109.7,
                        "LTTD": 27.9,
                        "ADDVCD": "431226",
                    }
                ],
            },
        ]
    }
    s = ingest_file(db, write(tmp_path, "b.json", json.dumps(bundle)), data_dir=tmp_path)
    assert s.kind == "hydro-sl323" and s.status == "loaded", s.problems
    assert s.loaded["station"] == 1 and s.loaded["river_obs"] == 2
    assert db.execute(
        "SELECT z, q FROM river_obs WHERE stcd = 'T0000012' ORDER BY tm"
    ).fetchall() == [
        (152.31, 320.5),
        (152.4, None),
    ]
    one = {
        "table": "ST_PPTN_R",
        "units": {"DRP": "furlongs"},
        "rows": [{"STCD": "T0000012", "TM": "2024-07-01 08:00:00", "DRP": 1}],
    }
    s = ingest_file(db, write(tmp_path, "one.json", json.dumps(one)), data_dir=tmp_path)
    assert s.status == "partial" and s.loaded.get("rain_obs", 0) == 0
    assert s.problems[0].record == "entry 1" and s.problems[0].field == "DRP"
    assert s.problems[0].reason.startswith("unknown unit 'furlongs' for DRP")
    records = [
        {"STCD": "T0000012", "TM": "2024-07-01T08:00:00+08:00", "DRP": 1.0, "INTV": 1},
        {"STCD": "T0000099", "TM": "2024-07-01T08:00:00+08:00", "DRP": 1.0, "INTV": 1},
    ]
    s = ingest_file(db, write(tmp_path, "l.json", json.dumps(records)), data_dir=tmp_path)
    assert s.status == "partial" and s.loaded["rain_obs"] == 1
    assert [(p.record, p.reason) for p in s.problems] == [
        ("entry 2", "unknown station STCD 'T0000099'")
    ]


# -- WaterML 2.0 -----------------------------------------------------------------------------


def test_waterml2_potomac_daily_values_take_the_documents_zone(db, tmp_path: Path) -> None:
    """Daily values are dates; the document's resultTime (-04:00) says which day they mean."""
    s = ingest_file(db, POTOMAC, data_dir=tmp_path)
    assert s.kind == "hydro-waterml2" and s.status == "loaded", s.problems
    assert s.loaded == {"dataset": 1, "station": 1, "river_obs": 8}
    first = db.execute(
        "SELECT tm, q FROM river_obs WHERE stcd = '01646500' ORDER BY tm LIMIT 1"
    ).fetchone()
    assert first[0] == datetime(2014, 9, 1, 4, tzinfo=UTC)  # 2014-09-01 00:00 at -04:00
    assert first[1] > 0
    row = db.execute(
        "SELECT stnm, sttp, addvcd, dataset_id, ST_X(geom), ST_Y(geom) FROM station"
        " WHERE stcd = '01646500'"
    ).fetchone()
    assert row == (
        "POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA",
        "ZQ",
        None,
        "ingest-stations",
        -77.12763889,
        38.94977778,
    )


def _potomac_with_offsets(tmp_path: Path, uom: str = "ft3/s") -> Path:
    text = POTOMAC.read_text(encoding="utf-8")
    text = re.sub(
        r"<wml2:time>(\d{4}-\d\d-\d\d)</wml2:time>",
        r"<wml2:time>\1T00:00:00-04:00</wml2:time>",
        text,
    )
    text = text.replace('<wml2:uom xlink:title="ft3/s"/>', f'<wml2:uom xlink:title="{uom}"/>')
    path = tmp_path / f"potomac_{len(uom)}.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_waterml2_discharge_is_converted_to_m3s(db, tmp_path: Path) -> None:
    s = ingest_file(db, _potomac_with_offsets(tmp_path), data_dir=tmp_path)
    assert s.status == "loaded" and s.loaded["river_obs"] == 8
    rows = db.execute(
        "SELECT tm, q, z FROM river_obs WHERE stcd = '01646500' ORDER BY tm"
    ).fetchall()
    assert rows[0][0] == datetime(2014, 9, 1, 4, tzinfo=UTC)
    assert rows[0][1] == pytest.approx(2690 * CFS) and rows[0][2] is None
    assert rows[-1][1] == pytest.approx(2300 * CFS)


def test_waterml2_unknown_unit_is_quarantined(db, tmp_path: Path) -> None:
    s = ingest_file(db, _potomac_with_offsets(tmp_path, "acre-ft/day"), data_dir=tmp_path)
    assert s.status == "partial" and s.loaded.get("river_obs", 0) == 0
    assert len(s.problems) == 8 and {p.field for p in s.problems} == {"uom"}
    assert s.problems[0].reason.startswith("unknown unit 'acre-ft/day' for discharge")


# -- NWIS JSON -----------------------------------------------------------------------------


def test_nwis_iv_merges_discharge_and_stage_per_time(db, tmp_path: Path) -> None:
    s = ingest_file(db, NWIS_IV, data_dir=tmp_path)
    assert s.kind == "hydro-nwis-json" and s.status == "loaded", s.problems
    assert s.loaded == {"dataset": 1, "station": 2, "river_obs": 10}
    first = db.execute(
        "SELECT tm, q, z FROM river_obs WHERE stcd = '01491000' ORDER BY tm LIMIT 1"
    ).fetchone()
    assert first[0] == datetime(2019, 2, 14, 5, tzinfo=UTC)
    assert first[1] == pytest.approx(974 * CFS) and first[2] == pytest.approx(6.48 * FT)
    assert db.execute(
        "SELECT stnm, sttp, round(ST_Y(geom)::numeric, 6) FROM station WHERE stcd = '01645000'"
    ).fetchone()[:2] == ("SENECA CREEK AT DAWSONVILLE, MD", "ZQ")


def test_nwis_dv_times_take_the_sites_standard_zone(db, tmp_path: Path) -> None:
    s = ingest_file(db, NWIS_DV, data_dir=tmp_path)
    assert s.status == "loaded", s.problems
    assert s.loaded["river_obs"] >= 2
    tm = db.execute(
        "SELECT min(tm) FROM river_obs WHERE stcd IN ('01491000', '01645000')"
        " AND tm >= '2020-02-14'"
    ).fetchone()[0]
    assert tm == datetime(2020, 2, 14, 5, tzinfo=UTC)  # 00:00 EST (-05:00)


def test_times_with_no_zone_anywhere_are_problems(db, tmp_path: Path) -> None:
    doc = json.loads(NWIS_DV.read_text(encoding="utf-8"))
    for ts in doc["value"]["timeSeries"]:
        ts["sourceInfo"].pop("timeZoneInfo", None)
    path = tmp_path / "dv-nozone.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "partial" and s.loaded.get("river_obs", 0) == 0
    assert s.problems and {p.field for p in s.problems} == {"time"}
    assert "has no UTC offset" in s.problems[0].reason


def test_nwis_no_data_value_is_a_problem(db, tmp_path: Path) -> None:
    doc = json.loads(NWIS_IV.read_text(encoding="utf-8"))
    doc["value"]["timeSeries"][0]["values"][0]["value"][1]["value"] = "-999999"
    path = tmp_path / "iv.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "partial" and s.loaded["river_obs"] == 10  # the Z of that time remains
    (p,) = s.problems
    assert p.record.startswith("series 1 (USGS:01491000:00060:00000) value 2")
    assert p.reason == "no-data value -999999, not a measurement"
    q = db.execute(
        "SELECT q FROM river_obs WHERE stcd = '01491000' AND tm = '2019-02-14T05:15:00Z'"
    ).fetchone()
    assert q == (None,)


# -- detection ----------------------------------------------------------------------------


def test_each_hydro_sample_is_detected_and_other_feeds_files_are_not_claimed() -> None:
    mine = {k: f for k, f in feeds().items() if k in KINDS}
    assert set(mine) == set(KINDS)

    def claims(path: Path) -> list[str]:
        head = path.read_bytes()[:4096]
        return [k for k, f in mine.items() if f.sniff(path, head)]

    assert claims(POTOMAC) == ["hydro-waterml2"]
    assert claims(NWIS_IV) == ["hydro-nwis-json"] and claims(NWIS_DV) == ["hydro-nwis-json"]
    others = [
        p
        for p in SHARED_DATA.rglob("*")
        if p.is_file() and p not in (POTOMAC, NWIS_IV, NWIS_DV) and p.suffix != ".md"
    ]
    assert others
    assert {str(p): claims(p) for p in others if claims(p)} == {}


# -- village rain from gauges ----------------------------------------------------------------


def test_gauge_rain_fills_the_villages_of_the_gauge_rain_area(db, tmp_path: Path) -> None:
    stcd, villages = db.execute(
        "SELECT stcd, array_agg(village_code ORDER BY village_code) FROM station_village"
        " WHERE relation = 'rain_area' GROUP BY stcd ORDER BY count(*) DESC, stcd LIMIT 1"
    ).fetchone()
    text = (
        "STCD,TM,DRP,INTV\n"
        f"{stcd},2031-07-01 08:20:00,1.5,0.20\n"  # hour 08:00-09:00 Beijing (00-01 UTC)
        f"{stcd},2031-07-01 08:40:00,2.0,0.20\n"
        f"{stcd},2031-07-01 09:00:00,3.0,0.20\n"  # ends the hour: still 08-09
        f"{stcd},2031-07-01 09:05:00,4.0,0.05\n"  # next hour
        f"{stcd},2031-07-02 08:00:00,30.0,24.00\n"  # a daily total: not an hourly figure
    )
    try:
        s = _ingest_rain_at(db, tmp_path, text)
        assert s.status == "loaded" and s.loaded["rain_obs"] == 5
        assert s.loaded["village_rain"] == 2 * len(villages)
        rows = db.execute(
            "SELECT village_code, valid_start, valid_end, mean_mm, max_mm, coverage, source_ref"
            " FROM village_rain WHERE product = 'gauge' AND ingest_id = %s"
            " ORDER BY valid_start, village_code",
            (s.ingest_id,),
        ).fetchall()
        h0 = datetime(2031, 7, 1, 0, tzinfo=UTC)
        assert [r[0] for r in rows[: len(villages)]] == villages
        assert {(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows[: len(villages)]} == {
            (h0, h0 + timedelta(hours=1), 6.5, 6.5, 1.0, stcd)
        }
        assert {(r[1], r[3]) for r in rows[len(villages) :]} == {(h0 + timedelta(hours=1), 4.0)}
        # a later file adding rain to the same hour updates the village hour
        more = f"STCD,TM,DRP,INTV\n{stcd},2031-07-01 08:10:00,0.5,0.10\n"
        s2 = _ingest_rain_at(db, tmp_path, more, name="more.csv")
        assert s2.loaded["village_rain"] == len(villages)
        assert db.execute(
            "SELECT DISTINCT mean_mm FROM village_rain WHERE product = 'gauge'"
            " AND source_ref = %s AND valid_start = %s",
            (stcd, h0),
        ).fetchall() == [(7.0,)]
    finally:
        db.rollback()
        db.execute("DELETE FROM village_rain WHERE product = 'gauge' AND source_ref = %s", (stcd,))
        db.execute("DELETE FROM rain_obs WHERE stcd = %s AND tm >= '2031-01-01'", (stcd,))
        db.commit()


def _ingest_rain_at(db, tmp_path: Path, text: str, name: str = "g.csv"):
    # 2031 is in the future: pretend the file arrives then
    from riskmap.ingest.feeds.hydro import checks as hydro

    saved = hydro.FUTURE_SLACK
    hydro.FUTURE_SLACK = saved + timedelta(days=365 * 10)
    try:
        return ingest_file(db, write(tmp_path, name, text), data_dir=tmp_path)
    finally:
        hydro.FUTURE_SLACK = saved


def test_gauge_rain_function_is_a_no_op_for_an_ingest_without_rain(db) -> None:
    with db.transaction():
        assert write_village_gauge_rain(db, -1, datetime(2020, 1, 1), datetime(2030, 1, 1)) == 0
    db.rollback()


# -- huge files ----------------------------------------------------------------------------


def _rain_file(path: Path, n: int, start: datetime) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("STCD,TM,DRP,INTV,PDR,DYP,WTH\n")
        for i in range(n):
            tm = start + timedelta(minutes=5 * i)
            fh.write(f"T0000001,{tm:%Y-%m-%d %H:%M:%S},{(i % 50) / 10:.1f},0.05,0.05,,7\n")
        # the first row again, many chunks later: the last one wins
        fh.write(f"T0000001,{start:%Y-%m-%d %H:%M:%S},9.9,0.05,0.05,,7\n")
    return path


def test_huge_csv_streams_with_bounded_memory(db, tmp_path: Path, monkeypatch) -> None:
    """Memory follows the chunk, not the file: the peak of Python allocations (tracemalloc)
    hardly grows with a file four times longer, where a whole-file frame's would grow by
    about ten times the extra bytes. ``make soak`` (RISKMAP_SOAK_HYDRO_ROWS) runs a longer
    pair."""
    stations(db, tmp_path)
    from riskmap.ingest.feeds.hydro import sl323_csv as hydro

    monkeypatch.setattr(hydro, "CHUNK_ROWS", 1_000)
    short = int(os.environ.get("RISKMAP_SOAK_HYDRO_ROWS", "15000"))
    peaks, sizes = {}, {}
    for n, year in ((short, 2020), (4 * short, 2021)):
        start = datetime(year, 1, 1)
        path = _rain_file(tmp_path / f"ST_PPTN_R_{n}.csv", n, start)
        sizes[n] = path.stat().st_size
        assert n >= 15 * hydro.CHUNK_ROWS
        tracemalloc.start()
        try:
            s = ingest_file(db, path, data_dir=tmp_path)
            _, peaks[n] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert s.status == "loaded", s.problems[:3]
        assert s.loaded["rain_obs"] == n and s.duplicates == 1
        assert db.execute(
            "SELECT drp FROM rain_obs WHERE stcd = 'T0000001' AND tm = %s",
            (start.replace(tzinfo=BEIJING).astimezone(UTC),),
        ).fetchone() == (9.9,)
    small, big = peaks[short], peaks[4 * short]
    grown = (big - small) / (sizes[4 * short] - sizes[short])
    # a whole-file frame grows by several bytes per byte of file (about ten); streaming by a
    # fraction of one (the keys kept to find a repeated row across chunks)
    assert grown < 0.5, (
        f"peaks {small / 1e6:.2f} MB and {big / 1e6:.2f} MB for files of"
        f" {sizes[short] / 1e6:.1f} and {sizes[4 * short] / 1e6:.1f} MB"
    )


def test_sl323_time_layouts() -> None:
    import pandas as pd

    from riskmap.ingest.feeds.hydro.times import sl323_times

    raw = [
        "2024-07-01 08:00:00",  # the usual export: Beijing time
        "2024/7/1 8:00",
        " 2024-07-01T08:00 ",
        "202407010800",
        "2024070108",
        "2024-07-01T00:00:00Z",  # explicit zones are honoured
        "2024-07-01 09:00:00+09:00",
        "2024-13-01 08:00:00",
        None,
    ]
    got = sl323_times(pd.Series(raw, dtype=object))
    utc = pd.Timestamp("2024-07-01 00:00", tz="UTC")
    assert got[:7].tolist() == [utc] * 7
    assert got[7:].isna().all()
