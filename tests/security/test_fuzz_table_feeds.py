"""Fuzzing the record feeds: FIRMS CSV, SL 323 CSV/JSON, USGS earthquake GeoJSON and the
geohazard-risk GeoJSON, and the database load path behind them.

Parsers are fed damaged real samples and generated records (random columns, wrong geometry
types, garbage values); the property is :func:`tests.security.fuzz_support.outcome` plus a check
of every row the Batch would load. Two properties go through ``ingest_file`` into PostGIS: a
mixed file keeps exactly its good records and quarantines each bad one with its line and field;
a file that is refused leaves every table as it was.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import shapely
from hypothesis import example, given
from hypothesis import strategies as st

from riskmap.geo.vocabulary import RAIN_MAX_MM
from riskmap.ingest.batch import RECORD, Batch, Context
from riskmap.ingest.feeds.fire.firms import Hotspots
from riskmap.ingest.feeds.geohazard.risk_warnings import GeohazardRisk
from riskmap.ingest.feeds.hydro import Sl323Feed
from riskmap.ingest.feeds.hydro.checks import SENTINELS
from riskmap.ingest.feeds.quakes import DEPTH_RANGE_KM, MAG_RANGE, UsgsGeoJson
from riskmap.ingest.pipeline import ingest_file
from tests.conftest import ROOT, SHARED_DATA
from tests.security.fuzz_support import (
    Samples,
    dump_json,
    finite,
    fuzz_settings,
    json_mutated,
    labels,
    missing,
    mutated,
    nasty_json,
    nasty_text,
    outcome,
    rows,
)

SCENARIO = ROOT / "data" / "scenarios" / "storm-431226"
NOWHERE = Path("/nonexistent")
CTX = Context(conn=None, data_dir=NOWHERE, source="fuzz")  # type: ignore[arg-type]
SOURCE = "fuzz:"  # ingest sources of this module, removed again after each example


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _head(path: Path, lines: int = 30) -> bytes:
    """A real CSV's header and first rows (kept small so each example stays cheap)."""
    return b"\n".join(path.read_bytes().split(b"\n")[: lines + 1]) + b"\n"


# -- FIRMS ----------------------------------------------------------------------------------------

FIRMS_FILES = [SCENARIO / "20260713T0900Z_firms_viirs.csv", *sorted(SHARED_DATA.glob("fire/*.csv"))]
FIRMS_SAMPLES = Samples(_head(p) for p in FIRMS_FILES if p.is_file())
FIRMS_COLUMNS = (
    "latitude",
    "longitude",
    "brightness",
    "bright_ti4",
    "scan",
    "track",
    "acq_date",
    "acq_time",
    "satellite",
    "instrument",
    "confidence",
    "version",
    "bright_t31",
    "bright_ti5",
    "frp",
    "daynight",
    "LATITUDE",
    " frp ",
    "type",
)


def check_hotspots(batch: Batch) -> None:
    """Loaded detections are on Earth, timed, plausible and not also quarantined."""
    quarantined = {p.record for p in batch.problems}
    assert not labels(batch, "hotspot") & quarantined
    for r in rows(batch, "hotspot"):
        assert -90 <= r["latitude"] <= 90 and -180 <= r["longitude"] <= 180, r
        assert not missing(r["acquired_at"]) and r["acquired_at"].tzinfo is not None, r
        assert r["satellite"] and r["instrument"] in ("MODIS", "VIIRS"), r
        assert 150 < r["brightness_k"] < 1000, r
        assert finite(r["frp_mw"]) and 0 <= r["frp_mw"] < 100000, r
        assert missing(r["bright_t31_k"]) or 150 < r["bright_t31_k"] < 1000, r
        if r["instrument"] == "MODIS":
            assert 0 <= r["confidence_pct"] <= 100, r
        else:
            assert r["confidence_class"] in ("low", "nominal", "high"), r
        assert missing(r["daynight"]) or r["daynight"] in ("D", "N"), r


def parse_firms(path: Path) -> Batch | None:
    batch = outcome(lambda: Hotspots().parse(path, CTX), path)
    if batch is not None:
        check_hotspots(batch)
    return batch


_MODIS_HEAD = "latitude,longitude,brightness,acq_date,acq_time,satellite,confidence,frp\n"


@fuzz_settings(2.0)
@given(data=mutated(FIRMS_SAMPLES, delimiter=b","))
@example(  # a fractional MODIS confidence is quarantined, and the cast of the column crashed
    data=(_MODIS_HEAD + "27.5,109.5,330.1,2026-07-13,0600,T,50.5,6.4\n").encode()
)
@example(data=(_MODIS_HEAD + "27.5,109.5,330.1,2026-07-13,0600,T,1e9,6.4\n").encode())
def test_damaged_firms_samples_load_valid_hotspots_or_are_refused(
    tmp_path: Path, data: bytes
) -> None:
    parse_firms(_write(tmp_path, "firms.csv", data))


@st.composite
def csv_files(
    draw: st.DrawFn,
    columns: tuple[str, ...],
    values: st.SearchStrategy,
    required: tuple[str, ...] | st.SearchStrategy = (),
) -> bytes:
    """A CSV with a random selection (and order, and repeats) of ``columns`` plus random ones
    (mostly with the ``required`` ones among them), and rows of random length of ``values``."""
    header = draw(
        st.lists(st.one_of(st.sampled_from(columns), st.text(max_size=5)), min_size=1, max_size=8)
    )
    if isinstance(required, st.SearchStrategy):
        required = draw(required)
    if draw(st.integers(0, 3)):
        header = draw(st.permutations([*required, *header]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 6))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
        writer.writerow([draw(values) for _ in range(max(width, 0))])
    return out.getvalue().encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk"])), "replace")


_FIRMS_VALUES = st.one_of(
    st.sampled_from(
        [
            "27.5",
            "109.5",
            "330.1",
            "2026-07-13",
            "0600",
            "600",
            "N",
            "T",
            "n",
            "h",
            "low",
            "50",
            "6.4",
            "D",
            "VIIRS",
            "MODIS",
            "2.0NRT",
            "0.39",
        ]
    ),
    nasty_text,
)


@fuzz_settings(1.5)
@given(
    data=csv_files(
        FIRMS_COLUMNS,
        _FIRMS_VALUES,
        (
            "latitude",
            "longitude",
            "acq_date",
            "acq_time",
            "satellite",
            "confidence",
            "frp",
            "bright_ti4",
        ),
    )
)
@example(  # a column twice (after case folding): the frame gave a DataFrame, not a column
    data=(_MODIS_HEAD.strip() + ",LATITUDE\n27.5,109.5,330.1,2026-07-13,0600,T,50,6.4,1\n").encode()
)
def test_generated_firms_csv_with_random_columns(tmp_path: Path, data: bytes) -> None:
    parse_firms(_write(tmp_path, "firms.csv", data))


# -- USGS GeoJSON ------------------------------------------------------------------------------


def _usgs_docs() -> list[dict]:
    docs = []
    for p in sorted(SHARED_DATA.glob("quakes/*.geojson")):
        doc = json.loads(p.read_bytes())
        doc["features"] = doc["features"][:12]
        docs.append(doc)
    return Samples(docs)


USGS_DOCS = _usgs_docs()


def check_quakes(batch: Batch) -> None:
    quarantined = {p.record for p in batch.problems}
    assert not labels(batch, "earthquake") & quarantined
    for r in rows(batch, "earthquake"):
        assert r["event_id"] and r["origin_time"].tzinfo is not None, r
        lon, lat = r["geom"].x, r["geom"].y
        assert finite(lon) and finite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90, r
        mag, depth = r["magnitude"], r["depth_km"]
        assert mag is None or MAG_RANGE[0] <= mag <= MAG_RANGE[1], r
        assert depth is None or DEPTH_RANGE_KM[0] <= depth <= DEPTH_RANGE_KM[1], r


def parse_usgs(path: Path) -> None:
    batch = outcome(lambda: UsgsGeoJson().parse(path, CTX), path)
    if batch is not None:
        check_quakes(batch)


@fuzz_settings(1.5)
@given(doc=json_mutated(USGS_DOCS))
@example(  # properties that are not an object: .get on a list crashed
    doc={
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "a",
                "properties": [1],
                "geometry": {"type": "Point", "coordinates": [1, 2, 3]},
            }
        ],
    }
)
@example(  # the same for the geometry
    doc={
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "a",
                "properties": {"mag": 1, "time": 0},
                "geometry": "POINT (1 2)",
            }
        ],
    }
)
def test_damaged_usgs_geojson_loads_valid_events_or_is_refused(tmp_path: Path, doc) -> None:
    parse_usgs(_write(tmp_path, "quakes.geojson", dump_json(doc)))


@fuzz_settings(1.0)
@given(data=mutated(Samples(dump_json(d) for d in USGS_DOCS)))
def test_usgs_geojson_byte_damage(tmp_path: Path, data: bytes) -> None:
    parse_usgs(_write(tmp_path, "quakes.geojson", data))


_COORD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**20), 10**20), nasty_json
)
_COORDS = st.recursive(_COORD, lambda c: st.lists(c, max_size=4), max_leaves=12)
_GEOM_TYPES = [
    "Point",
    "MultiPoint",
    "LineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
    "point",
    "Feature",
    "",
]
geometries = st.one_of(
    st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(_GEOM_TYPES), nasty_json), "coordinates": _COORDS}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("Polygon"),
            "coordinates": st.lists(
                st.lists(st.lists(_COORD, min_size=2, max_size=3), max_size=6), max_size=2
            ),
        }
    ),
    nasty_json,
)


@st.composite
def feature_collections(draw: st.DrawFn, props: st.SearchStrategy) -> dict | list:
    features = st.fixed_dictionaries(
        {"type": st.sampled_from(["Feature", "feature"]), "properties": props},
        optional={"geometry": geometries, "id": nasty_json},
    )
    items = draw(st.lists(st.one_of(features, nasty_json), max_size=5))
    shape = draw(st.sampled_from(["collection"] * 4 + ["feature", "no features", "crs"]))
    if shape == "feature" and items:
        return items[0]
    doc: dict = {"type": "FeatureCollection", "features": items}
    if shape == "no features":
        doc["features"] = draw(nasty_json)
    if shape == "crs":
        doc["crs"] = draw(
            st.one_of(
                nasty_json,
                st.fixed_dictionaries({"type": st.just("name"), "properties": nasty_json}),
                st.fixed_dictionaries(
                    {
                        "properties": st.fixed_dictionaries(
                            {
                                "name": st.one_of(
                                    st.sampled_from(
                                        ["EPSG:4490", "EPSG:4326", "EPSG:4527", "urn:x"]
                                    ),
                                    nasty_json,
                                )
                            }
                        )
                    }
                ),
            )
        )
    return doc


_QUAKE_PROPS = st.one_of(
    st.dictionaries(
        st.sampled_from(["mag", "time", "updated", "place", "title", "magType", "status", "type"]),
        st.one_of(st.sampled_from([4.5, 1374450356960, "reviewed", "mb"]), nasty_json),
        max_size=8,
    ),
    nasty_json,
)


@fuzz_settings(1.5)
@given(doc=feature_collections(_QUAKE_PROPS))
def test_generated_usgs_features_with_wrong_geometries(tmp_path: Path, doc) -> None:
    parse_usgs(_write(tmp_path, "quakes.geojson", dump_json(doc)))


# -- geohazard risk GeoJSON (the provinces' warning polygons) ----------------------------------

RISK_DOCS = Samples(
    json.loads(p.read_bytes()) for p in sorted(SCENARIO.glob("*_geohazard_risk.geojson"))
)


def check_risk(batch: Batch) -> None:
    quarantined = {p.record for p in batch.problems}
    assert not labels(batch, "geohazard_risk_area") & quarantined
    for r in rows(batch, "geohazard_risk_area"):
        assert r["level"] in (1, 2, 3, 4) and r["issuer"], r
        assert r["valid_from"] < r["valid_to"], r
        geom = r["geom"]
        assert geom.geom_type == "MultiPolygon" and shapely.is_valid(geom), r
        x0, y0, x1, y1 = geom.bounds
        assert -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90, r


def parse_risk(path: Path) -> None:
    batch = outcome(lambda: GeohazardRisk().parse(path, CTX), path)
    if batch is not None:
        check_risk(batch)


_RISK_PROPS = st.one_of(
    st.dictionaries(
        st.sampled_from(
            [
                "level",
                "预警等级",
                "valid_from",
                "valid_to",
                "issued_at",
                "issuer",
                "起始时间",
                "结束时间",
                "doc_id",
            ]
        ),
        st.one_of(
            st.sampled_from(["2026-07-14T10:00:00+08:00", "2026-07-15 10:00", "二级", "红色", 2]),
            nasty_json,
        ),
        max_size=9,
    ),
    nasty_json,
)


@fuzz_settings(1.0)
@given(doc=st.one_of(json_mutated(RISK_DOCS), feature_collections(_RISK_PROPS)))
@example(  # a year-1 local time moved to UTC overflowed
    doc={
        "type": "Feature",
        "properties": {
            "level": 1,
            "valid_from": "0001-01-01T00:00:00",
            "valid_to": "2026-07-15T10:00:00+08:00",
            "issuer": "x",
        },
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    }
)
@example(  # 'properties' that is not an object
    doc={"type": "FeatureCollection", "features": [{"type": "Feature", "properties": [1]}]}
)
@example(  # a legacy 'crs' whose 'properties' is not an object
    doc={"type": "FeatureCollection", "crs": {"properties": "EPSG:4490"}, "features": [{}]}
)
def test_geohazard_risk_geojson_damaged_and_generated(tmp_path: Path, doc) -> None:
    parse_risk(_write(tmp_path, "risk.geojson", dump_json(doc)))


# -- SL 323 (needs the database: station codes are looked up) ---------------------------------

#: Station codes of the fuzz tests: the demo's codes (612261xx …) with FZ in front, so they
#: never touch the demo county's stations a shared session database may hold.
FUZZ_PREFIX = "FZ"


def _fuzz_code(code: str) -> str:
    return FUZZ_PREFIX + code[2:]


def _sl323_samples() -> tuple[Samples, list[str]]:
    samples, codes = Samples(), set()
    for pattern in ("*_ST_PPTN_R.csv", "*_ST_RIVER_R.csv", "*_ST_RSVR_R.csv"):
        path = sorted(SCENARIO.glob(pattern))[0]
        text = _head(path, 12).decode()
        found = set(re.findall(r"^([0-9A-Z]{8}),", text, re.M))
        for code in found:
            text = text.replace(code, _fuzz_code(code))
        codes |= {_fuzz_code(c) for c in found}
        samples.append(text.encode())
    return samples, sorted(codes)


SL323_CSV, FUZZ_STATIONS = _sl323_samples()
STATIONS_CSV = "STCD,STNM,RVNM,LGTD,LTTD,STLC,ADDVCD,STTP\n" + "".join(
    f"{code},测试站{i},锦江,{109.5 + i / 100:.2f},27.80,麻阳县,431226,PP\n"
    for i, code in enumerate(FUZZ_STATIONS)
)
SL323_CSV.append(STATIONS_CSV.encode("gbk"))  # a GBK station table, as Chinese exports come
SL323_NAMES = {0: "ST_PPTN_R.csv", 1: "ST_RIVER_R.csv", 2: "ST_RSVR_R.csv", 3: "ST_STBPRP_B.csv"}


def _cleanup(conn: psycopg.Connection) -> None:
    logs = "SELECT id FROM ingest_log WHERE source LIKE 'fuzz:%%'"
    for table in ("rain_obs", "river_obs", "reservoir_obs", "hotspot", "village_rain"):
        conn.execute(f"DELETE FROM {table} WHERE ingest_id IN ({logs})")
    for table in ("rain_obs", "river_obs", "reservoir_obs"):
        conn.execute(f"DELETE FROM {table} WHERE stcd LIKE 'FZ%%'")
    conn.execute("DELETE FROM ingest_log WHERE source LIKE 'fuzz:%%'")


@pytest.fixture(scope="module")
def db(db_url: str, tmp_path_factory) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the session database with the fuzz stations registered
    (through the pipeline, from a GBK file); they and everything the module loaded are removed
    at the end."""
    tmp = tmp_path_factory.mktemp("fuzz-stations")
    with psycopg.connect(db_url, autocommit=True) as conn:
        _cleanup(conn)
        path = _write(tmp, "ST_STBPRP_B_fuzz.csv", STATIONS_CSV.encode("gbk"))
        s = ingest_file(conn, path, data_dir=tmp, source=f"{SOURCE}stations")
        assert s.status == "loaded", (s.message, s.problems)
        conn.execute("DELETE FROM ingest_log WHERE source = %s", (f"{SOURCE}stations",))
        yield conn
        _cleanup(conn)
        conn.execute("DELETE FROM station WHERE stcd = ANY(%s)", (FUZZ_STATIONS,))
        conn.execute(
            "DELETE FROM dataset d WHERE id = 'ingest-stations'"
            " AND NOT EXISTS (SELECT 1 FROM station s WHERE s.dataset_id = d.id)"
        )


def check_sl323(batch: Batch, now: datetime) -> None:
    """Loaded observations: valid codes and times, no sentinels, plausible rain, not also
    quarantined; stations on Earth with a known type."""
    quarantined = {p.record for p in batch.problems}
    loaded = [ld for ld in batch.loads]  # the CSV reader makes its loads lazily, once
    for load in loaded:
        frame = load.frame
        if RECORD in frame:
            assert not set(frame[RECORD].astype(str)) & quarantined, load.table
        if load.table == "dataset":
            continue
        assert frame["stcd"].map(lambda c: bool(re.fullmatch(r"[0-9A-Z]{8}", str(c)))).all()
        if load.table == "station":
            for g in frame["geom"]:
                assert -180 <= g.x <= 180 and -90 <= g.y <= 90, g
            assert frame["sttp"].isin(["PP", "ZZ", "ZQ", "RR", "DD", "TT", "DP"]).all()
            continue
        tm = pd.to_datetime(frame["tm"], utc=True, format="ISO8601")
        assert tm.notna().all(), frame["tm"]
        assert (tm >= pd.Timestamp("1900-01-01", tz="UTC")).all()
        assert (tm <= pd.Timestamp(now) + pd.Timedelta(days=1)).all()
        for column in frame.columns:
            if column in (RECORD, "stcd", "tm", "wth", "flwchrcd", "ingest_id"):
                continue
            values = [v for v in frame[column] if not missing(v)]
            assert all(math.isfinite(float(v)) for v in values), (column, values)
            assert not set(map(float, values)) & SENTINELS, (column, values)
        if load.table == "rain_obs":
            assert ((frame["drp"] >= 0) & (frame["drp"] < RAIN_MAX_MM)).all()


def parse_sl323(conn: psycopg.Connection, path: Path) -> Batch | None:
    ctx = Context(conn=conn, data_dir=NOWHERE, source="fuzz")

    def parse() -> Batch:
        batch = Sl323Feed().parse(path, ctx)
        # the CSV reader checks rows as its loads are made (once): read them all, so the
        # problems are complete and a file refused part-way is refused here
        batch.loads = list(batch.loads)
        return batch

    batch = outcome(parse, path)
    if batch is not None:
        check_sl323(batch, ctx.now)
    return batch


@fuzz_settings(2.0)
@given(which=st.sampled_from(sorted(SL323_NAMES)), data=st.data())
def test_damaged_sl323_csv_loads_valid_rows_or_is_refused(db, tmp_path: Path, which, data) -> None:
    damaged = data.draw(mutated(Samples([SL323_CSV[which]]), delimiter=b","), label="file")
    name = data.draw(st.sampled_from([SL323_NAMES[which], "export.csv"]), label="name")
    parse_sl323(db, _write(tmp_path, name, damaged))


SL323_COLUMNS = (
    "STCD",
    "TM",
    "DRP",
    "INTV",
    "PDR",
    "DYP",
    "WTH",
    "Z",
    "Q",
    "XSA",
    "FLWCHRCD",
    "WPTN",
    "RZ",
    "INQ",
    "OTQ",
    "W",
    "BLRZ",
    "RWPTN",
    "STNM",
    "STTP",
    "LGTD",
    "LTTD",
    "ADDVCD",
    "stcd",
    " tm ",
)
_SL323_VALUES = st.one_of(
    st.sampled_from(
        [
            *FUZZ_STATIONS,
            "2026-07-14 09:00:00",
            "2026-07-14T09:00:00+08:00",
            "1.5",
            "5",
            "4",
            "PP",
            "431226",
            "109.5",
            "27.8",
            "测试站",
        ]
    ),
    nasty_text,
)


@fuzz_settings(1.5)
@given(
    data=csv_files(
        SL323_COLUMNS,
        _SL323_VALUES,
        st.sampled_from(
            [("STCD", "TM", "DRP"), ("STCD", "TM", "Z"), ("STCD", "STNM", "STTP", "LGTD", "LTTD")]
        ),
    ),
    tab=st.booleans(),
)
@example(  # "inf" is no measurement: it loaded as an infinite river stage
    data=b"STCD,TM,Z\nFZ226200,2026-07-14 09:00:00,inf\n", tab=False
)
@example(  # STCD twice (after upper-casing): the checks got a DataFrame and crashed
    data=b"STCD,stcd,TM,DRP\nFZ226100,FZ226100,2026-07-14 09:00:00,1\n", tab=False
)
@example(  # a row longer than the header: pandas' ParserError leaked
    data=b"STCD,TM,DRP\nFZ226100,2026-07-14 09:00:00,1\nFZ226100,2026-07-14 10:00:00,1,2\n",
    tab=False,
)
def test_generated_sl323_csv_with_random_columns(db, tmp_path: Path, data: bytes, tab) -> None:
    if tab:
        data = data.replace(b",", b"\t")
    parse_sl323(db, _write(tmp_path, "export.csv", data))


_RECORD_VALUES = st.one_of(
    st.sampled_from([*FUZZ_STATIONS, "2026-07-14 09:00:00", 1.5, 5, "PP", 109.5, 27.8]), nasty_json
)
_records = st.lists(
    st.one_of(
        st.dictionaries(st.sampled_from(SL323_COLUMNS), _RECORD_VALUES, max_size=8),
        st.fixed_dictionaries(  # mostly a real record with a few odd values
            {
                "STCD": st.one_of(st.sampled_from(FUZZ_STATIONS), _RECORD_VALUES),
                "TM": st.one_of(st.just("2026-07-14 09:00:00"), _RECORD_VALUES),
            },
            optional={c: _RECORD_VALUES for c in ("DRP", "INTV", "Z", "Q", "RZ", "WPTN", "W")},
        ),
    ),
    max_size=5,
)
_units = st.one_of(
    st.dictionaries(
        st.sampled_from(["DRP", "Z", "Q", "W", "drp"]),
        st.one_of(st.sampled_from(["mm", "cm", "ft3/s", "furlong", ""]), nasty_json),
        max_size=3,
    ),
    nasty_json,
)
_table = st.fixed_dictionaries(
    {
        "table": st.one_of(
            st.sampled_from(["ST_PPTN_R", "ST_RIVER_R", "ST_RSVR_R", "ST_STBPRP_B"]), nasty_json
        ),
        "rows": st.one_of(_records, nasty_json),
    },
    optional={"units": _units},
)
sl323_json_docs = st.one_of(
    _records,
    _table,
    st.fixed_dictionaries({"tables": st.lists(_table, max_size=3)}),
    st.lists(_table, max_size=3),
    nasty_json,
)


@fuzz_settings(2.0)
@given(doc=sl323_json_docs)
@example(  # 'units' that is not an object: .items() on a list crashed
    doc={
        "table": "ST_PPTN_R",
        "units": ["mm"],
        "rows": [{"STCD": "FZ226100", "TM": "2026-07-14 09:00:00", "DRP": 1}],
    }
)
@example(  # JSON's Infinity loaded as a river stage
    doc={
        "table": "ST_RIVER_R",
        "rows": [{"STCD": "FZ226200", "TM": "2026-07-14 09:00:00", "Z": float("inf")}],
    }
)
def test_generated_sl323_json_documents(db, tmp_path: Path, doc) -> None:
    parse_sl323(db, _write(tmp_path, "export.json", dump_json(doc)))


# -- through the pipeline into PostGIS ---------------------------------------------------------

_GOOD_FIRMS = [
    line
    for line in (SCENARIO / "20260713T0900Z_firms_viirs.csv").read_text().splitlines()[1:13]
    if line
]
_FIRMS_HEADER = (SCENARIO / "20260713T0900Z_firms_viirs.csv").read_text().splitlines()[0]
#: (column, value) pairs each of which makes a VIIRS row invalid, and the field it is named by.
_BREAKS = [
    ("latitude", "abc", "latitude"),
    ("latitude", "91", "latitude"),
    ("longitude", "", "longitude"),
    ("bright_ti4", "-999", "brightness"),
    ("frp", "-1", "frp"),
    ("confidence", "sure", "confidence"),
    ("acq_date", "2026-02-30", "acq_date"),
    ("acq_time", "2561", "acq_date"),
    ("satellite", "", "satellite"),
    ("daynight", "X", "daynight"),
    ("scan", "0", "scan"),
]


def _count(conn: psycopg.Connection, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


@fuzz_settings(0.7)
@given(
    good=st.lists(st.sampled_from(range(len(_GOOD_FIRMS))), unique=True, max_size=8),
    bad=st.lists(
        st.tuples(st.sampled_from(range(len(_GOOD_FIRMS))), st.sampled_from(_BREAKS)), max_size=5
    ),
    order=st.randoms(use_true_random=False),
    unreadable=st.sampled_from([None, None, None, "no frp column", "ragged row", "truncated"]),
)
def test_mixed_firms_file_keeps_good_rows_quarantines_bad_ones_and_refusal_writes_nothing(
    db, tmp_path: Path, good, bad, order, unreadable
) -> None:
    columns = _FIRMS_HEADER.split(",")
    lines = [(_GOOD_FIRMS[i], None) for i in good]
    for i, (column, value, field) in bad:
        cells = _GOOD_FIRMS[i].split(",")
        cells[columns.index(column)] = value
        lines.append((",".join(cells), field))
    order.shuffle(lines)
    text = _FIRMS_HEADER + "\n" + "".join(f"{line}\n" for line, _ in lines)
    if unreadable == "no frp column":
        text = text.replace(",frp,", ",power,", 1)
    elif unreadable == "ragged row":
        text += "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n"
    elif unreadable == "truncated":
        text = text[: len(_FIRMS_HEADER) // 2]
    path = _write(tmp_path, "mixed_firms.csv", text.encode())
    before = _count(db, "SELECT count(*) FROM hotspot")
    quarantined_before = _count(db, "SELECT count(*) FROM quarantine")
    try:
        s = ingest_file(db, path, data_dir=tmp_path, source=f"{SOURCE}firms")
        after = _count(db, "SELECT count(*) FROM hotspot")
        if unreadable or not lines:
            assert s.status == "rejected" and s.message and path.name in s.message, s
            assert after == before, "a refused file wrote hotspots"
            assert _count(db, "SELECT count(*) FROM quarantine") == quarantined_before
            return
        assert s.status == ("partial" if bad else "loaded"), (s.status, s.message, s.problems)
        assert after - before == len(good) == s.loaded.get("hotspot", 0), s
        want = sorted((f"line {n}", f) for n, (_l, f) in enumerate(lines, start=2) if f)
        got = db.execute(
            "SELECT record, field, reason FROM quarantine WHERE ingest_id = %s", (s.ingest_id,)
        ).fetchall()
        assert sorted((r, f) for r, f, _reason in got) == want
        assert all(reason for _r, _f, reason in got)
    finally:
        _cleanup(db)


@fuzz_settings(0.7)
@given(
    good=st.lists(st.integers(0, 23), unique=True, max_size=6),
    bad=st.lists(
        st.tuples(
            st.integers(0, 23),
            st.sampled_from(
                [
                    ("DRP", -1.0, "DRP"),
                    ("DRP", 99999, "DRP"),
                    ("TM", "2026-13-01 00:00:00", "TM"),
                    ("STCD", "ZZ000000", "STCD"),
                    ("DRP", "lots", "DRP"),
                    ("INTV", 0, "INTV"),
                    ("STCD", "12", "STCD"),
                    ("TM", "2099-01-01 00:00:00", "TM"),
                ]
            ),
        ),
        max_size=4,
    ),
    broken=st.sampled_from([None, None, None, "syntax", "rows not a list"]),
)
def test_mixed_sl323_json_keeps_good_rows_quarantines_bad_ones_and_refusal_writes_nothing(
    db, tmp_path: Path, good, bad, broken
) -> None:
    t0 = datetime(2026, 7, 14, 9, tzinfo=UTC)
    station = FUZZ_STATIONS[0]

    def record(hour: int) -> dict:
        tm = (t0 + timedelta(hours=hour)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"STCD": station, "TM": tm, "DRP": 1.5, "INTV": 1}

    records = [record(h) for h in good]
    fields = [None] * len(records)
    for h, (column, value, field) in bad:
        r = record(100 + h)  # other hours than the good rows: a bad row never hides a good one
        r[column] = value
        records.append(r)
        fields.append(field)
    doc: dict = {"table": "ST_PPTN_R", "rows": records}
    data = dump_json(doc)
    if broken == "syntax":
        data = data[:-3]
    elif broken == "rows not a list":
        data = dump_json({"table": "ST_PPTN_R", "rows": {"0": records}})
    path = _write(tmp_path, "mixed_sl323.json", data)
    before = _count(db, "SELECT count(*) FROM rain_obs")
    try:
        s = ingest_file(db, path, data_dir=tmp_path, source=f"{SOURCE}sl323")
        after = _count(db, "SELECT count(*) FROM rain_obs")
        if broken or not records:
            assert s.status == "rejected" and path.name in (s.message or ""), s
            assert after == before, "a refused file wrote observations"
            return
        assert after - before == len(good) == s.loaded.get("rain_obs", 0), s
        want = sorted((f"entry {n}", f) for n, f in enumerate(fields, start=1) if f)
        got = db.execute(
            "SELECT record, field, reason FROM quarantine WHERE ingest_id = %s", (s.ingest_id,)
        ).fetchall()
        assert sorted((r, f) for r, f, _reason in got) == want
        assert all(reason for _r, _f, reason in got)
    finally:
        _cleanup(db)
