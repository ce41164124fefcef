"""MICAPS type 3 station rain: read as nmc-met-io reads it, loaded into rain_obs through the
SL 323 checks, quarantine and provenance of the hydrology feed (real PostGIS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from nmc_met_io.read_micaps import read_micaps_3

from riskmap.ingest.pipeline import ingest_file
from tests.ingest.micaps_files import write_micaps3

KIND = "micaps-stations"
BEIJING_0800 = datetime(2026, 7, 14, 8)
UTC_0000 = datetime(2026, 7, 14, 0, tzinfo=UTC)
INSIDE = [  # CMA ids at points inside Mayang (109.41–110.09 E, 27.54–28.03 N), new to station
    ("Q8101", 109.80, 27.87, 300.0, "12.5"),
    ("Q8102", 109.70, 27.80, 250.0, "0.0"),
    ("q8103", 109.85, 27.90, 9999.0, "31.7"),  # lower case id, missing elevation
]
OUTSIDE = ("54511", 116.47, 39.80, 31.3, "4.2")  # Beijing: not a station of this installation


def _cleanup(conn: psycopg.Connection) -> None:
    logs = "SELECT id FROM ingest_log WHERE kind = %s"
    conn.execute(f"DELETE FROM rain_obs WHERE ingest_id IN ({logs})", (KIND,))
    conn.execute(f"DELETE FROM village_rain WHERE ingest_id IN ({logs})", (KIND,))
    conn.execute("DELETE FROM village_rain WHERE product = 'gauge' AND source_ref LIKE 'CMA%'")
    conn.execute("DELETE FROM station WHERE stcd LIKE 'CMA%'")
    conn.execute("DELETE FROM ingest_log WHERE kind = %s", (KIND,))
    conn.execute(
        "DELETE FROM dataset d WHERE id = 'ingest-stations'"
        " AND NOT EXISTS (SELECT 1 FROM station s WHERE s.dataset_id = d.id)"
    )


@pytest.fixture
def db(db_url: str, mayang):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _cleanup(conn)
        yield conn
        _cleanup(conn)


def demo_rain_station(db) -> tuple[str, float, float]:
    return db.execute(
        "SELECT stcd, ST_X(geom), ST_Y(geom) FROM station WHERE sttp = 'PP' AND stcd NOT LIKE"
        " 'CMA%' ORDER BY stcd LIMIT 1"
    ).fetchone()


def test_station_rain_agrees_with_nmc_met_io_and_loads(db, tmp_path: Path) -> None:
    stcd, lon, lat = demo_rain_station(db)
    records = [
        *INSIDE,
        OUTSIDE,
        (stcd, lon, lat, 200.0, "8.8"),  # an SL 323 station already known: its code as id
        ("Q8104", 109.60, 27.70, 280.0, "9999"),  # missing value
        ("Q8105", 109.65, 27.75, 280.0, "-3.0"),  # negative rain
    ]
    path = write_micaps3(tmp_path / "26071408.000", records, BEIJING_0800, year_digits=2)
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.kind == KIND and s.status == "partial", s.message
    reasons = {p.record: (p.field, p.reason) for p in s.problems}
    assert set(reasons) == {"line 12 (station Q8104)", "line 13 (station Q8105)"}
    assert (
        reasons["line 12 (station Q8104)"][0] == "value"
        and "9999" in reasons["line 12 (station Q8104)"][1]
    )
    assert reasons["line 13 (station Q8105)"] == ("value", "negative rainfall -3 mm")
    peer = read_micaps_3(str(path))
    assert set(peer["time"]) == {BEIJING_0800}  # nmc-met-io keeps Beijing time, naive
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT o.stcd, o.tm, o.drp, o.intv, ST_X(s.geom), ST_Y(s.geom) FROM rain_obs o"
            " JOIN station s USING (stcd) WHERE o.ingest_id = %s",
            [s.ingest_id],
        )
    }
    expected = {}
    for _, p in peer.iterrows():
        code = p["ID"] if len(p["ID"]) == 8 else f"CMA{p['ID'].upper()}"
        if p["ID"] in ("54511", "Q8104", "Q8105"):
            continue  # outside the county; missing (peer: NaN); negative (quarantined)
        expected[code] = (p["Var0"], p["lon"], p["lat"])
    assert np.isnan(peer.set_index("ID").loc["Q8104", "Var0"])  # peer masks 9999 too
    assert set(rows) == set(expected)
    for code, (value, plon, plat) in expected.items():
        tm, drp, intv, slon, slat = rows[code]
        assert tm == UTC_0000 == BEIJING_0800.replace(tzinfo=UTC) - timedelta(hours=8)
        assert (drp, float(intv)) == (pytest.approx(value), 24.0)
        if code.startswith("CMA"):  # registered from the file: at the file's point
            assert (slon, slat) == (pytest.approx(plon), pytest.approx(plat))
    registered = db.execute(
        "SELECT stcd, sttp, addvcd, stnm FROM station WHERE stcd LIKE 'CMA%' ORDER BY stcd"
    ).fetchall()
    # every new station inside the county is registered (a bad value does not make its station
    # bad); the one outside is not
    ids = ("Q8101", "Q8102", "Q8103", "Q8104", "Q8105")
    assert registered == [
        (f"CMA{i}", "PP", "431226", f"MICAPS {i.lower() if i == 'Q8103' else i}") for i in ids
    ]
    assert db.execute("SELECT count(*) FROM station WHERE stcd = 'CMA54511'").fetchone()[0] == 0


def test_bad_records_are_quarantined_naming_line_and_field(db, tmp_path: Path) -> None:
    path = write_micaps3(tmp_path / "bad.000", INSIDE, BEIJING_0800, encoding="utf-8", declared=5)
    lines = path.read_text().splitlines()
    lines += ["Q8106 109.7x 27.8 100.0 1.0", "Q8107 109.7 27.8 1.0", "Q81-8 109.7 27.8 1.0 2.0"]
    path.write_text("\n".join(lines) + "\n")
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.status == "partial", s.message
    got = {(p.record, p.field) for p in s.problems}
    assert got == {("line 10", "lon"), ("line 11", None), ("line 12", "id"),
                   ("line 6", "station_count")}  # fmt: skip
    assert s.loaded["rain_obs"] == 3


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace("24小时降水量", "地面气温").replace(" -2\n", " -3\n"),
            "not a rainfall",
        ),
        (lambda t: t.replace("24小时降水量", "6小时降水量"), "level -2 means 24 h rain"),
        (lambda t: t.replace("\n1 3\n", "\n2 3\n"), "values_per_station: 2 values"),
        (lambda t: t.replace("2026 07 14", "2026 13 14"), "line 2, field year/month/day/hour"),
        (lambda t: t.replace("\n1 50\n", "\n1 5o\n"), "line 4, field bold_value: '5o'"),
    ],
)
def test_unreadable_files_are_rejected_and_nothing_is_written(
    db, tmp_path: Path, edit, expected: str
) -> None:
    path = write_micaps3(tmp_path / "broken.000", INSIDE, BEIJING_0800)
    path.write_bytes(edit(path.read_bytes().decode("gbk")).encode("gbk"))
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.status == "rejected" and s.kind == KIND
    assert "broken.000" in s.message and expected in s.message, s.message
    assert db.execute("SELECT count(*) FROM station WHERE stcd LIKE 'CMA%'").fetchone()[0] == 0
    n = db.execute("SELECT count(*) FROM rain_obs WHERE tm = %s", [UTC_0000]).fetchone()[0]
    assert n == 0
