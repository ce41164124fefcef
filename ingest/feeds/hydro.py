"""Station hydrology: SL 323 rain and water tables (CSV, JSON), OGC WaterML 2.0, USGS NWIS JSON.

Kinds
-----
``hydro-sl323``
    Exports of the Chinese real-time rain and water database (SL 323, 实时雨水情数据库):

    * ``ST_PPTN_R`` rainfall → ``rain_obs`` (STCD, TM, DRP, INTV, PDR, DYP, WTH);
    * ``ST_RIVER_R`` river stage and flow → ``river_obs`` (STCD, TM, Z, Q, XSA, FLWCHRCD, WPTN);
    * ``ST_RSVR_R`` reservoir → ``reservoir_obs`` (STCD, TM, RZ, INQ, OTQ, W, BLRZ, RWPTN);
    * ``ST_STBPRP_B`` station base information → upsert into ``station``.

    Other SL 323 columns (XSAVV, XSMXV, MSQMT, INQDR, ...) are accepted and not kept.

    **CSV**: a header row with the SL 323 column names in any case; comma or tab separated;
    UTF-8 with or without BOM, UTF-16 with BOM, or GBK/GB 18030. The table is named by a file
    name starting with the table name (``ST_PPTN_R_2024.csv``) or recognised from the columns.
    CSV files are streamed in chunks of :data:`CHUNK_ROWS` rows (two passes: validate, then
    load), so memory stays bounded whatever the file size.

    **JSON** (read whole; keys in any case):

    * a list of records of one table: ``[{"STCD": "60420100", "TM": "...", "DRP": 1.5}, ...]``;
    * one table: ``{"table": "ST_PPTN_R", "units": {"DRP": "mm"}, "rows": [...]}``;
    * a bundle: ``{"tables": [{"table": "ST_STBPRP_B", "rows": [...]}, {...}]}`` (or a list
      of such table objects). Stations are loaded first, so observations may refer to the
      stations the same file registers.

    ``units`` is optional; SL 323 units are the default (mm, m, m³/s, m², 10⁶ m³). Known
    alternatives are converted (cm, in, ft, ft3/s, L/s, ...); an unknown unit quarantines every
    record carrying a value in that column.

``hydro-waterml2``
    OGC WaterML 2.0 ``wml2:Collection`` of ``om:OM_Observation`` with a
    ``wml2:MeasurementTimeseries``. Discharge → ``river_obs.q``, stage / gage height →
    ``river_obs.z``, precipitation → ``rain_obs.drp``, converted from the ``wml2:uom``. The
    ``wml2:MonitoringPoint`` registers or updates the station (name, position); its code is the
    first 8-character token of the point's identifier (USGS site numbers are 8 digits).

``hydro-nwis-json``
    USGS NWIS WaterML-JSON (``ns1:timeSeriesResponseType``, instantaneous and daily values):
    00060 discharge (ft³/s → m³/s), 00065 gage height (ft → m), 00045 precipitation
    (in → mm). The series' ``sourceInfo`` registers the site as a station. Other parameters
    (temperature, conductance, ...) are skipped; the ``noDataValue`` (-999999) is a problem.

Times
-----
SL 323 ``TM`` is Beijing time without a zone by convention: a naive time in an SL 323 file is
read as UTC+8 (fixed offset; China has had no daylight saving since 1991) and stored in UTC.
An explicit offset (``2024-07-01T08:00:00+08:00``, ``...Z``) is honoured. WaterML and NWIS
times carry their offset; one without (including date-only daily values such as ``2014-09-01``)
cannot be placed in UTC and is a problem, never guessed.

Validation
----------
Per record, quarantined as a :class:`~ingest.pipeline.Problem` naming line / entry and field:
a station code that is not 8 characters ``[0-9A-Z]``, a station unknown to ``station`` and not
registered by the same file, an unparseable, out-of-range or future time, a non-numeric value,
sentinels (99999, -99, -999999, ...), negative rainfall, more than 300 mm in a period of an
hour or less, trend codes other than 4/5/6, unknown units. Rows with the same STCD and TM:
the last one wins and the others count as duplicates. Across files the value stored first is
kept (``ON CONFLICT DO NOTHING``): re-sent, overlapping exports count as duplicates, and a
corrected value needs the old row deleted first. A file that cannot be read at all (not
text, no recognisable SL 323 columns, empty) raises :class:`~ingest.pipeline.FeedReadError`.

After rain observations load, :func:`geo.gauge_rain.write_village_gauge_rain` writes the hourly
'gauge' rain of the villages in the affected gauges' rain areas.
"""

from __future__ import annotations

import codecs
import csv
import html
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import shapely
from lxml import etree
from pyproj import CRS, Transformer

from riskmap.geo.db.sqlfiles import load_sql
from riskmap.geo.gauge_rain import write_village_gauge_rain
from riskmap.ingest.pipeline import (
    RECORD,
    Batch,
    Context,
    FeedReadError,
    Problem,
    TableLoad,
    register,
)

CHUNK_ROWS = 10_000  # CSV rows parsed, validated and loaded at a time (~0.5 KB each)
STATION_DATASET = "ingest-stations"
BEIJING = pd.Timedelta(hours=8)
SENTINELS = frozenset({-99.0, -999.0, -9999.0, -99999.0, -999999.0, 9999.0, 99999.0, 999999.0})
HOURLY_RAIN_MAX_MM = 300.0  # more within an hour is beyond any record
RAIN_MAX_MM = 2000.0
FUTURE_SLACK = pd.Timedelta(days=1)
EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")
_CODE = re.compile(r"^[0-9A-Z]{8}$")

# -- SL 323 tables -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sl323Table:
    """One SL 323 table: its identifying columns and how its columns map to ours."""

    name: str
    target: str
    required: tuple[str, ...]
    any_of: tuple[str, ...]  # at least one of these columns must be present (and filled)
    numeric: dict[str, str]  # SL 323 column -> our column
    text: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    units: dict[str, str] = field(default_factory=dict)  # column -> physical quantity
    codes: tuple[str, ...] = ()  # trend columns limited to 4, 5, 6


PPTN = Sl323Table(
    "ST_PPTN_R",
    "rain_obs",
    ("STCD", "TM", "DRP"),
    ("DRP",),
    {"DRP": "drp", "INTV": "intv", "PDR": "pdr", "DYP": "dyp"},
    {"WTH": "wth"},
    units={"DRP": "rain", "DYP": "rain"},
)
RIVER = Sl323Table(
    "ST_RIVER_R",
    "river_obs",
    ("STCD", "TM"),
    ("Z", "Q"),
    {"Z": "z", "Q": "q", "XSA": "xsa", "WPTN": "wptn"},
    {"FLWCHRCD": "flwchrcd"},
    ("XSAVV", "XSMXV", "MSQMT", "MSAMT", "MSVMT"),
    units={"Z": "level", "Q": "flow", "XSA": "area"},
    codes=("WPTN",),
)
RSVR = Sl323Table(
    "ST_RSVR_R",
    "reservoir_obs",
    ("STCD", "TM"),
    ("RZ", "INQ", "OTQ", "W"),
    {"RZ": "rz", "INQ": "inq", "OTQ": "otq", "W": "w", "BLRZ": "blrz", "RWPTN": "rwptn"},
    {},
    ("RWCHRCD", "INQDR", "MSQMT"),
    units={"RZ": "level", "BLRZ": "level", "INQ": "flow", "OTQ": "flow", "W": "storage"},
    codes=("RWPTN",),
)
STBPRP = Sl323Table(
    "ST_STBPRP_B",
    "station",
    ("STCD", "STNM", "STTP", "LGTD", "LTTD"),
    (),
    {"LGTD": "lgtd", "LTTD": "lttd"},
    {
        "STNM": "stnm",
        "STTP": "sttp",
        "RVNM": "rvnm",
        "HNNM": "hnnm",
        "BSNM": "bsnm",
        "STLC": "stlc",
        "ADDVCD": "addvcd",
        "ADMAUTH": "admauth",
    },
)
TABLES = {t.name: t for t in (STBPRP, PPTN, RIVER, RSVR)}
STATION_TYPES = frozenset({"PP", "ZZ", "ZQ", "RR", "DD", "TT", "DP"})

# unit spellings (lower case, spaces removed) -> factor to the SL 323 unit, per quantity
UNITS: dict[str, dict[str, float]] = {
    "rain": {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4, "inch": 25.4, "inches": 25.4},
    "level": {"m": 1.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048, "feet": 0.3048},
    "flow": {
        "m3/s": 1.0,
        "m³/s": 1.0,
        "m^3/s": 1.0,
        "m3s-1": 1.0,
        "m3.s-1": 1.0,
        "cms": 1.0,
        "cumec": 1.0,
        "l/s": 0.001,
        "ft3/s": 0.028316846592,
        "ft³/s": 0.028316846592,
        "ft^3/s": 0.028316846592,
        "cfs": 0.028316846592,
    },
    "area": {"m2": 1.0, "m²": 1.0, "m^2": 1.0, "ft2": 0.09290304},
    "storage": {"10^6m3": 1.0, "10⁶m³": 1.0, "mm3": 1.0, "hm3": 1.0, "million m3": 1.0},
}


def _unit_factor(quantity: str, unit: str | None) -> float | None:
    """Factor from ``unit`` to the SL 323 unit of ``quantity``; None when unknown."""
    if unit is None or not str(unit).strip():
        return 1.0
    key = html.unescape(str(unit)).strip().lower().replace(" ", "")
    table = {k.replace(" ", ""): v for k, v in UNITS[quantity].items()}
    return table.get(key)


# -- times ----------------------------------------------------------------------------------

_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2})$")
_COMPACT_FORMATS = {14: "%Y%m%d%H%M%S", 12: "%Y%m%d%H%M", 10: "%Y%m%d%H"}


def sl323_times(values: pd.Series) -> pd.Series:
    """Parse SL 323 TM strings to UTC; naive times are Beijing time (UTC+8), offsets honoured.

    Vectorised: the common ``YYYY-MM-DD HH:MM:SS`` layout takes the fast path; ISO 8601 with
    ``T`` or ``/`` separators, explicit offsets and compact ``YYYYMMDDHHMM`` follow. Returns a
    ``datetime64[ns, UTC]`` series with NaT where a value cannot be read.
    """
    fast = pd.to_datetime(values, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    out = (fast - BEIJING).dt.tz_localize("UTC").copy()
    todo = out.isna() & values.notna()
    if not todo.any():
        return out
    rest = values[todo].astype(str).str.strip().str.replace("/", "-", regex=False)
    aware = rest.str.contains(_OFFSET, regex=True, na=False)
    if aware.any():
        out.loc[rest.index[aware]] = pd.to_datetime(
            rest[aware], format="ISO8601", utc=True, errors="coerce"
        )
    naive = rest[~aware]
    if len(naive):
        parsed = pd.to_datetime(naive, format="ISO8601", errors="coerce").copy()
        lengths = naive.str.len()
        compact = naive.str.fullmatch(r"\d{10,14}", na=False)
        for width, fmt in _COMPACT_FORMATS.items():
            pick = compact & (lengths == width)
            if pick.any():
                parsed[pick] = pd.to_datetime(naive[pick], format=fmt, errors="coerce")
        out.loc[naive.index] = (parsed - BEIJING).dt.tz_localize("UTC")
    return out


def zoned_times(values: Iterable[str]) -> tuple[pd.Series, np.ndarray]:
    """Parse WaterML / NWIS times, which must carry a UTC offset.

    Returns (UTC times with NaT where unreadable or without an offset, mask of those without).
    """
    s = pd.Series(list(values), dtype="string").str.strip()
    has_offset = s.str.contains(r"T.*(?:[zZ]|[+-]\d{2}:?\d{2})$", regex=True, na=False)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    if has_offset.any():
        out[has_offset] = pd.to_datetime(s[has_offset], format="ISO8601", utc=True, errors="coerce")
    return out, (~has_offset & s.notna() & (s != "")).to_numpy()


# -- validation of one frame ------------------------------------------------------------------


class StationBook:
    """Station codes known to the database or registered by the file being read.

    Looks codes up lazily, a chunk's new codes at a time, through the parser's read-only
    connection.
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.known: dict[str, tuple[str, str] | None] = {}  # code -> (sttp, dataset) or None
        self.registered: set[str] = set()

    def lookup(self, codes: Iterable[str]) -> None:
        new = [c for c in set(codes) if c not in self.known and c not in self.registered]
        if not new:
            return
        for c in new:
            self.known[c] = None
        rows = self.conn.execute(
            load_sql("riskmap.ingest.sql", "hydro_known_stations.sql"), {"codes": new}
        ).fetchall()
        for stcd, sttp, dataset_id in rows:
            self.known[stcd] = (sttp, dataset_id)

    def exists(self, code: str) -> bool:
        return code in self.registered or self.known.get(code) is not None

    def mask(self, codes: pd.Series) -> np.ndarray:
        """True where the code is a known or registered station."""
        self.lookup(codes.dropna().unique())
        return _test_distinct(codes, self.exists)


@dataclass
class Checked:
    """Result of validating one frame of one table."""

    frame: pd.DataFrame  # good rows, our column names, with RECORD
    problems: list[Problem]
    tm: pd.Series | None = None  # UTC times of the good rows (obs tables)


class _Flags:
    """Collects per-row problems; the first problem of a row is the one reported."""

    def __init__(self, n: int, labels: np.ndarray, raw: pd.DataFrame, want: bool) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.labels = labels
        self.raw = raw
        self.want = want
        self.problems: list[tuple[int, str | None, str]] = []

    def flag(self, mask: np.ndarray, column: str | None, reason: Callable[[int], str]) -> None:
        new = np.asarray(mask, dtype=bool) & ~self.bad
        if not new.any():
            return
        self.bad |= new
        if self.want:
            for i in np.flatnonzero(new):
                self.problems.append((int(i), column, reason(int(i))))

    def build(self) -> list[Problem]:
        out = []
        for i, column, reason in sorted(self.problems):
            row = {k: v for k, v in self.raw.iloc[i].to_dict().items() if _filled(v)}
            raw = json.dumps(row, ensure_ascii=False, default=str)[:2000]
            out.append(Problem(str(self.labels[i]), column, reason, raw))
        return out


def _filled(v: object) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return not (isinstance(v, str) and not v.strip())


def _numbers(col: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Column as float64; mask of non-empty values that are not numbers."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.astype("float64"), np.zeros(len(col), dtype=bool)
    text = col.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce").astype("float64")
    return num, (num.isna() & text.notna() & (text != "")).to_numpy()


def check_frame(
    table: Sl323Table,
    raw: pd.DataFrame,
    labels: np.ndarray,
    book: StationBook,
    now: datetime,
    *,
    units: dict[str, str] | None = None,
    want_problems: bool = True,
) -> Checked:
    """Validate and convert one frame of an SL 323 table (columns upper case, SL 323 names).

    Vectorised over the frame; only the bad rows become :class:`Problem` objects. Station
    rows (ST_STBPRP_B) go to :func:`check_stations`.
    """
    if table is STBPRP:
        return check_stations(raw, labels, book, want_problems=want_problems)
    n = len(raw)
    flags = _Flags(n, labels, raw, want_problems)
    stcd = _codes(raw["STCD"])
    flags.flag(
        _bad_codes(stcd),
        "STCD",
        lambda i: f"STCD {raw['STCD'].iloc[i]!r} is not an 8-character code [0-9A-Z]",
    )
    tm = sl323_times(raw["TM"])
    flags.flag(
        tm.isna().to_numpy(),
        "TM",
        lambda i: f"unreadable time {raw['TM'].iloc[i]!r} (expected YYYY-MM-DD HH:MM:SS)",
    )
    limit = pd.Timestamp(now).tz_convert("UTC") + FUTURE_SLACK
    flags.flag(
        ((tm < EARLIEST) | (tm > limit)).fillna(False).to_numpy(),
        "TM",
        lambda i: f"time {raw['TM'].iloc[i]!r} is before 1900 or in the future",
    )
    out = pd.DataFrame({RECORD: labels, "stcd": stcd})
    for column, ours in table.numeric.items():
        out[ours] = _numeric_column(table, raw, column, flags, units or {})
    for column, ours in table.text.items():
        out[ours] = _text_column(raw, column, flags)
    present = [table.numeric[c] for c in table.any_of]
    flags.flag(
        out[present].isna().all(axis=1).to_numpy(),
        "/".join(table.any_of),
        lambda _i: f"no value in {' or '.join(table.any_of)}",
    )
    if table is PPTN:
        _check_rain(out, raw, flags)
    known = book.mask(stcd.where(~flags.bad))
    flags.flag(~known, "STCD", lambda i: f"unknown station STCD {stcd.iloc[i]!r}")
    keep = ~flags.bad
    good = out[keep].reset_index(drop=True)
    good_tm = tm[keep].reset_index(drop=True)
    good.insert(2, "tm", good_tm)
    return Checked(good, flags.build(), good_tm)


def _codes(col: pd.Series) -> pd.Series:
    """Station codes stripped and upper-cased; done on the distinct values (a file has few
    stations and many rows), so the rows share one string object per station."""
    return _per_distinct(col, lambda v: str(v).strip().upper() or None)


def _per_distinct(col: pd.Series, fn: Callable[[object], object]) -> pd.Series:
    """``fn`` applied to each distinct value of ``col`` (missing values stay None)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=col.index, dtype=object)


def _test_distinct(col: pd.Series, pred: Callable[[object], bool]) -> np.ndarray:
    """``pred`` of each row's value, evaluated once per distinct value (False where missing)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return np.array([bool(pred(u)) for u in uniques] + [False], dtype=bool)[codes]


def _bad_codes(stcd: pd.Series) -> np.ndarray:
    """True where a station code is missing or not 8 characters [0-9A-Z]."""
    return ~_test_distinct(stcd, lambda v: bool(_CODE.match(str(v))))


def _numeric_column(
    table: Sl323Table,
    raw: pd.DataFrame,
    column: str,
    flags: _Flags,
    units: dict[str, str],
) -> pd.Series:
    if column not in raw:
        return pd.Series(np.nan, index=raw.index, dtype="float64")
    num, junk = _numbers(raw[column])
    flags.flag(junk, column, lambda i: f"{raw[column].iloc[i]!r} is not a number")
    flags.flag(
        num.isin(SENTINELS).to_numpy(),
        column,
        lambda i: f"sentinel value {num.iloc[i]:g} (no data), not a measurement",
    )
    if column in table.codes:
        flags.flag(
            (num.notna() & ~num.isin([4.0, 5.0, 6.0])).to_numpy(),
            column,
            lambda i: f"trend code {num.iloc[i]:g} is not 4 (falling), 5 (rising) or 6 (steady)",
        )
        # smallint in the database: whole numbers as Python ints, so COPY writes "5" not "5.0"
        return (
            num.astype(object).where(num.notna(), None).map(lambda v: None if v is None else int(v))
        )
    quantity = table.units.get(column)
    if quantity and column in units:
        factor = _unit_factor(quantity, units[column])
        if factor is None:
            known = ", ".join(UNITS[quantity])
            flags.flag(
                num.notna().to_numpy(),
                column,
                lambda _i: f"unknown unit {units[column]!r} for {column} (known: {known})",
            )
        else:
            num = num * factor
    return num


def _text_column(raw: pd.DataFrame, column: str, flags: _Flags) -> pd.Series:
    if column not in raw:
        return pd.Series(None, index=raw.index, dtype="object")
    text = _per_distinct(raw[column], lambda v: str(v).strip() or None)
    flags.flag(
        _test_distinct(text, lambda v: len(str(v)) > 1),
        column,
        lambda i: f"code {text.iloc[i]!r} is longer than one character",
    )
    return text


def _check_rain(out: pd.DataFrame, raw: pd.DataFrame, flags: _Flags) -> None:
    drp, intv = out["drp"], out["intv"]
    flags.flag((drp < 0).to_numpy(), "DRP", lambda i: f"negative rainfall {drp.iloc[i]:g} mm")
    flags.flag(
        (drp >= RAIN_MAX_MM).to_numpy(),
        "DRP",
        lambda i: f"rainfall {drp.iloc[i]:g} mm is impossible (sentinel or unit error)",
    )
    hourly = intv.isna() | (intv <= 1)
    flags.flag(
        ((drp > HOURLY_RAIN_MAX_MM) & hourly).to_numpy(),
        "DRP",
        lambda i: (
            f"rainfall {drp.iloc[i]:g} mm in an interval of an hour or less"
            f" (more than {HOURLY_RAIN_MAX_MM:g} mm is beyond any record)"
        ),
    )
    flags.flag(
        ((intv <= 0) | (intv > 744)).to_numpy(),
        "INTV",
        lambda i: f"interval {intv.iloc[i]:g} is not between 0 and 744 hours",
    )
    dyp = out["dyp"]
    flags.flag(
        ((dyp < 0) | (dyp >= RAIN_MAX_MM)).to_numpy(),
        "DYP",
        lambda i: f"daily rainfall {dyp.iloc[i]:g} mm is negative or impossible",
    )
    flags.flag((out["pdr"] < 0).to_numpy(), "PDR", lambda _i: "negative rain duration")


def check_stations(
    raw: pd.DataFrame, labels: np.ndarray, book: StationBook, *, want_problems: bool = True
) -> Checked:
    """Validate ST_STBPRP_B rows into ``station`` rows (WGS 84 points from LGTD / LTTD)."""
    flags = _Flags(len(raw), labels, raw, want_problems)
    stcd = _codes(raw["STCD"])
    flags.flag(
        _bad_codes(stcd),
        "STCD",
        lambda i: f"STCD {raw['STCD'].iloc[i]!r} is not an 8-character code [0-9A-Z]",
    )
    out = pd.DataFrame({RECORD: labels, "stcd": stcd})
    for column, ours in STBPRP.text.items():
        if column in raw:
            text = raw[column].astype("string").str.strip()
            out[ours] = text.astype(object).where(text.notna() & (text != ""), None)
        else:
            out[ours] = None
    out["sttp"] = out["sttp"].map(lambda v: v.upper() if isinstance(v, str) else v)
    flags.flag(out["stnm"].isna().to_numpy(), "STNM", lambda _i: "station name is empty")
    flags.flag(
        ~out["sttp"].isin(STATION_TYPES).to_numpy(),
        "STTP",
        lambda i: (
            f"station type {out['sttp'].iloc[i]!r} is not one of {', '.join(sorted(STATION_TYPES))}"
        ),
    )
    addvcd = out["addvcd"].astype("string")
    flags.flag(
        (addvcd.notna() & ~addvcd.str.fullmatch(r"[1-9]\d{5}").fillna(False)).to_numpy(),
        "ADDVCD",
        lambda i: f"admin code {addvcd.iloc[i]!r} is not a 6-digit GB/T 2260 code",
    )
    lon, junk_lon = _numbers(raw["LGTD"])
    lat, junk_lat = _numbers(raw["LTTD"])
    flags.flag(
        junk_lon | ~lon.between(-180, 180).to_numpy(),
        "LGTD",
        lambda i: f"longitude {raw['LGTD'].iloc[i]!r} is not a number in [-180, 180]",
    )
    flags.flag(
        junk_lat | ~lat.between(-90, 90).to_numpy(),
        "LTTD",
        lambda i: f"latitude {raw['LTTD'].iloc[i]!r} is not a number in [-90, 90]",
    )
    keep = ~flags.bad
    good = out[keep].reset_index(drop=True)
    good["geom"] = list(shapely.points(lon[keep].to_numpy(), lat[keep].to_numpy()))
    book.lookup(good["stcd"])
    good["dataset_id"] = [_dataset_of(book, c) for c in good["stcd"]]
    book.registered.update(good["stcd"])
    return Checked(good, flags.build())


def _dataset_of(book: StationBook, code: str) -> str:
    """An existing station keeps its dataset (e.g. the demo's); a new one is the feed's."""
    found = book.known.get(code)
    return found[1] if found else STATION_DATASET


def _station_loads(ctx: Context, stations: pd.DataFrame) -> list[TableLoad]:
    """The ``ingest-stations`` dataset (when missing) and the station upsert."""
    if stations.empty:
        return []
    loads = []
    exists = ctx.conn.execute(
        load_sql("riskmap.ingest.sql", "hydro_dataset_exists.sql"), {"id": STATION_DATASET}
    ).fetchone()
    if exists is None and (stations["dataset_id"] == STATION_DATASET).any():
        dataset = pd.DataFrame(
            [
                {
                    "id": STATION_DATASET,
                    "title": "测站 / stations registered by ingested hydrology files",
                    "synthetic": False,
                    "source": "ingest: SL 323 ST_STBPRP_B, WaterML 2.0, USGS NWIS",
                }
            ]
        )
        loads.append(TableLoad("dataset", dataset, key=("id",), on_conflict="ignore"))
    loads.append(TableLoad("station", stations, key=("stcd",), on_conflict="update"))
    return loads


def _rain_after_load(
    start: datetime | None, end: datetime | None
) -> Callable[[psycopg.Connection, int], dict[str, int]] | None:
    """Village gauge rain for the hours of the rain just loaded (between ``start`` and ``end``)."""
    if start is None or end is None:
        return None

    def after_load(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
        return {"village_rain": write_village_gauge_rain(conn, ingest_id, start, end)}

    return after_load


# -- SL 323 CSV ----------------------------------------------------------------------------


def _table_from_name(path: Path) -> Sl323Table | None:
    stem = path.name.upper()
    return next((t for t in TABLES.values() if stem.startswith(t.name)), None)


def expected_columns() -> str:
    """What an SL 323 file must have, for error messages."""
    return "; ".join(f"{t.name}: {_needs(t)}" for t in TABLES.values())


def _needs(table: Sl323Table) -> str:
    extra = [c for c in table.any_of if c not in table.required]
    return ", ".join(table.required) + (f" and one of {', '.join(extra)}" if extra else "")


def identify_table(path: Path, columns: Iterable[str], hint: str | None = None) -> Sl323Table:
    """The SL 323 table of a file, from ``hint`` (JSON "table"), the file name or the columns."""
    cols = {str(c).strip().upper() for c in columns}
    named = TABLES.get(hint.strip().upper()) if hint else None
    if hint and named is None:
        raise FeedReadError(
            f"{path.name}: unknown SL 323 table {hint!r}; known: {', '.join(TABLES)}"
        )
    named = named or _table_from_name(path)
    candidates = [named] if named else list(TABLES.values())
    for table in candidates:
        if set(table.required) <= cols and (not table.any_of or cols & set(table.any_of)):
            return table
    got = ", ".join(sorted(cols)) or "none"
    if named:
        raise FeedReadError(
            f"{path.name}: {named.name} needs columns {_needs(named)} (columns: {got})"
        )
    raise FeedReadError(
        f"{path.name}: no recognisable SL 323 columns (columns: {got});"
        f" expected {expected_columns()}"
    )


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _header_line(head: bytes) -> str:
    enc = _encoding(head)
    try:
        text = codecs.getincrementaldecoder(enc)(errors="strict").decode(head, final=False)
    except UnicodeDecodeError:
        return ""
    return text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""


def _split_header(line: str) -> list[str]:
    sep = "\t" if line.count("\t") > line.count(",") else ","
    return [c.strip().strip('"').strip().upper() for c in next(csv.reader([line], delimiter=sep))]


@dataclass
class CsvScan:
    """What the validating pass learnt about an SL 323 CSV file."""

    table: Sl323Table
    encoding: str
    sep: str
    problems: list[Problem] = field(default_factory=list)
    dup_counts: dict[int, int] = field(default_factory=dict)  # packed key -> occurrences
    station_index: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    good: int = 0
    valid_from: pd.Timestamp | None = None
    valid_to: pd.Timestamp | None = None


def _chunks(path: Path, scan: CsvScan) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """The CSV in frames of CHUNK_ROWS rows, columns upper case, with their line numbers."""
    header = pd.read_csv(path, encoding=scan.encoding, sep=scan.sep, nrows=0).columns
    names = {c: str(c).strip().lstrip("\ufeff").strip().upper() for c in header}
    as_text = {c: str for c, u in names.items() if u not in scan.table.numeric}
    reader = pd.read_csv(
        path,
        encoding=scan.encoding,
        sep=scan.sep,
        dtype=as_text,
        chunksize=CHUNK_ROWS,
        skip_blank_lines=False,
        keep_default_na=False,
        na_values=["", "NULL", "null", "NaN", "nan"],
        skipinitialspace=True,
        engine="c",
    )
    first = 2
    for chunk in reader:
        chunk = chunk.rename(columns=names)
        lines = np.arange(first, first + len(chunk))
        first += len(chunk)
        blank = chunk.isna().all(axis=1).to_numpy()
        if blank.any():
            chunk, lines = chunk[~blank].reset_index(drop=True), lines[~blank]
        if len(chunk):
            yield chunk.reset_index(drop=True), lines


def _labels(lines: np.ndarray) -> np.ndarray:
    return np.char.add("line ", lines.astype(str)).astype(object)


def _packed_keys(scan: CsvScan, frame: pd.DataFrame) -> np.ndarray:
    """(station, time) of each row as one int64: station index * 2^34 + seconds since 1900."""
    index = scan.station_index
    for code in frame["stcd"].unique():
        index.setdefault(code, len(index))
    st = frame["stcd"].map(index).to_numpy(dtype=np.int64)
    secs = (frame["tm"] - EARLIEST).dt.total_seconds().to_numpy(dtype=np.int64)
    return (st << 34) + secs


def scan_csv(path: Path, ctx: Context, book: StationBook) -> CsvScan:
    """First pass: identify the table, validate every row, find the duplicated keys.

    Keeps only the problems and one int64 key per good row (for the duplicates), never the
    rows themselves.
    """
    head = path.open("rb").read(65536)
    line = _header_line(head)
    if not line.strip():
        raise FeedReadError(f"{path.name}: empty file (no SL 323 header row)")
    table = identify_table(path, _split_header(line))
    sep = "\t" if line.count("\t") > line.count(",") else ","
    encoding = _encoding(head)
    for enc in dict.fromkeys([encoding, "gb18030"]):
        scan = CsvScan(table, enc, sep)
        try:
            _scan_pass(path, ctx, book, scan)
            return scan
        except UnicodeDecodeError:
            book.registered.clear()
            continue
    raise FeedReadError(f"{path.name}: not UTF-8, UTF-16 or GBK/GB 18030 text")


def _line_count(path: Path) -> int:
    """Lines in the file (an upper bound on its rows), counted in 1 MiB blocks."""
    n = 1
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            n += block.count(b"\n")
    return n


def _scan_pass(path: Path, ctx: Context, book: StationBook, scan: CsvScan) -> None:
    keys = np.empty(_line_count(path), dtype=np.int64)  # one key per good row, no regrowth
    filled = 0
    for raw, lines in _chunks(path, scan):
        scan.rows += len(raw)
        checked = check_frame(scan.table, raw, _labels(lines), book, ctx.now)
        scan.problems.extend(checked.problems)
        scan.good += len(checked.frame)
        if checked.tm is not None and len(checked.tm):
            lo, hi = checked.tm.min(), checked.tm.max()
            scan.valid_from = lo if scan.valid_from is None else min(scan.valid_from, lo)
            scan.valid_to = hi if scan.valid_to is None else max(scan.valid_to, hi)
            chunk_keys = _packed_keys(scan, checked.frame)
            keys[filled : filled + len(chunk_keys)] = chunk_keys
            filled += len(chunk_keys)
    if scan.rows == 0:
        raise FeedReadError(f"{path.name}: no data rows after the header")
    scan.dup_counts = _duplicate_counts(keys[:filled])


def _duplicate_counts(allkeys: np.ndarray) -> dict[int, int]:
    """Keys occurring more than once, with their counts (sorted in place to save memory)."""
    if len(allkeys) < 2:
        return {}
    allkeys.sort()
    same = allkeys[1:] == allkeys[:-1]
    if not same.any():
        return {}
    dupes, counts = np.unique(allkeys[1:][same], return_counts=True)
    return {int(k): int(c) + 1 for k, c in zip(dupes, counts, strict=True)}


def stream_loads(path: Path, ctx: Context, book: StationBook, scan: CsvScan) -> Iterator[TableLoad]:
    """Second pass: the good rows chunk by chunk, for the pipeline to COPY as they come.

    Rows whose key occurs again later in the file are held back and sent last, where they meet
    the later row already stored and count as duplicates (the last row wins).
    """
    key = ("stcd",) if scan.table is STBPRP else ("stcd", "tm")
    seen: dict[int, int] = {}
    held: list[pd.DataFrame] = []
    for raw, lines in _chunks(path, scan):
        checked = check_frame(scan.table, raw, _labels(lines), book, ctx.now, want_problems=False)
        frame = checked.frame
        if frame.empty:
            continue
        if scan.dup_counts:
            superseded = _superseded(scan, frame, seen)
            if superseded.any():
                held.append(frame[superseded])
                frame = frame[~superseded]
        yield _table_load(scan.table, _for_copy(frame), key)
    if held:
        yield _table_load(scan.table, _for_copy(pd.concat(held, ignore_index=True)), key)


def _for_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as COPY likes it cheapest: UTC times as ISO text (no Timestamp objects per
    row) and without optional columns that are empty in this chunk (fewer values to write)."""
    frame = frame.copy()
    if "tm" in frame:
        stamps = frame["tm"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        frame["tm"] = np.char.add(np.datetime_as_string(stamps, unit="s"), "Z").astype(object)
    empty = [c for c in frame.columns if c not in (RECORD, "stcd", "tm") and frame[c].isna().all()]
    return frame.drop(columns=empty)


def _superseded(scan: CsvScan, frame: pd.DataFrame, seen: dict[int, int]) -> np.ndarray:
    keys = _packed_keys(scan, frame)
    out = np.zeros(len(frame), dtype=bool)
    for i in np.flatnonzero(np.isin(keys, np.fromiter(scan.dup_counts, dtype=np.int64))):
        k = int(keys[i])
        seen[k] = seen.get(k, 0) + 1
        out[i] = seen[k] < scan.dup_counts[k]
    return out


def _table_load(table: Sl323Table, frame: pd.DataFrame, key: tuple[str, ...]) -> TableLoad:
    if table is STBPRP:
        return TableLoad("station", frame, key=key, on_conflict="update")
    return TableLoad(table.target, frame, key=key, on_conflict="ignore")


class _LazyLoads(list):
    """The pipeline iterates ``Batch.loads`` once; this list yields its loads as they are made,
    so only one chunk of a huge file is in memory at a time."""

    def __init__(self, make: Callable[[], Iterator[TableLoad]]) -> None:
        super().__init__()
        self._make = make

    def __iter__(self) -> Iterator[TableLoad]:
        return self._make()


def parse_sl323_csv(path: Path, ctx: Context) -> Batch:
    """Parse an SL 323 CSV export (see the module docstring) in two streaming passes."""
    book = StationBook(ctx.conn)
    scan = scan_csv(path, ctx, book)
    if scan.table is STBPRP:
        # station files are small: read them whole so the dataset row can precede them
        frames = [f.frame for f in _station_frames(path, ctx, scan)]
        stations = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return Batch(KIND_SL323, _station_loads(ctx, stations), scan.problems)
    start, end = _py(scan.valid_from), _py(scan.valid_to)
    pass_two = StationBook(ctx.conn)
    pass_two.known = dict(book.known)
    return Batch(
        KIND_SL323,
        _LazyLoads(lambda: stream_loads(path, ctx, pass_two, scan)),
        scan.problems,
        valid_from=start,
        valid_to=end,
        after_load=_rain_after_load(start, end) if scan.table is PPTN else None,
        event={"table": scan.table.name},
    )


def _station_frames(path: Path, ctx: Context, scan: CsvScan) -> Iterator[Checked]:
    book = StationBook(ctx.conn)
    for raw, lines in _chunks(path, scan):
        yield check_stations(raw, _labels(lines), book, want_problems=False)


def _py(ts: pd.Timestamp | None) -> datetime | None:
    return None if ts is None or pd.isna(ts) else ts.to_pydatetime()


# -- SL 323 JSON -----------------------------------------------------------------------------


def _json_tables(path: Path, doc: object) -> list[tuple[str | None, list, dict]]:
    """(table name or None, rows, units) for each table of an SL 323 JSON document."""
    if isinstance(doc, dict) and "tables" in doc:
        doc = doc["tables"]
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise FeedReadError(f"{path.name}: JSON must be a list of records or a table object")
    if doc and all(isinstance(d, dict) and _lower_keys(d).keys() >= {"table", "rows"} for d in doc):
        out = []
        for d in doc:
            d = _lower_keys(d)
            if not isinstance(d["rows"], list):
                raise FeedReadError(f"{path.name}: table {d['table']!r}: 'rows' is not a list")
            out.append((str(d["table"]), d["rows"], d.get("units") or {}))
        return out
    return [(None, doc, {})]


def _lower_keys(d: dict) -> dict:
    return {str(k).lower(): v for k, v in d.items()}


def parse_sl323_json(path: Path, ctx: Context) -> Batch:
    """Parse an SL 323 JSON document (list of records, table object or bundle)."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedReadError(f"{path.name}: not valid UTF-8 JSON ({exc})") from exc
    parts = _json_tables(path, doc)
    if not any(rows for _, rows, _ in parts):
        raise FeedReadError(f"{path.name}: no records")
    book = StationBook(ctx.conn)
    resolved = []
    for name, rows, units in parts:
        bad = next((i for i, r in enumerate(rows, 1) if not isinstance(r, dict)), None)
        if bad is not None:
            raise FeedReadError(f"{path.name}: entry {bad} is not a JSON object")
        frame = pd.DataFrame([{str(k).strip().upper(): v for k, v in r.items()} for r in rows])
        table = identify_table(path, frame.columns, name)
        resolved.append((table, frame, {str(k).upper(): v for k, v in units.items()}))
    resolved.sort(key=lambda t: t[0] is not STBPRP)  # stations first
    problems: list[Problem] = []
    loads: list[TableLoad] = []
    stations: list[pd.DataFrame] = []
    valid: list[pd.Series] = []
    for table, frame, units in resolved:
        prefix = f"{table.name} " if len(resolved) > 1 else ""
        labels = np.array([f"{prefix}entry {i}" for i in range(1, len(frame) + 1)], dtype=object)
        checked = check_frame(table, frame, labels, book, ctx.now, units=units)
        problems.extend(checked.problems)
        if table is STBPRP:
            stations.append(checked.frame)
            continue
        loads.append(_table_load(table, checked.frame, ("stcd", "tm")))
        valid.append(checked.tm)
    station_frame = pd.concat(stations, ignore_index=True) if stations else pd.DataFrame()
    times = pd.concat(valid) if valid else pd.Series(dtype="datetime64[ns, UTC]")
    rain = any(t is PPTN for t, _, _ in resolved)
    start = _py(times.min()) if len(times) else None
    end = _py(times.max()) if len(times) else None
    return Batch(
        KIND_SL323,
        _station_loads(ctx, station_frame) + loads,
        problems,
        valid_from=start,
        valid_to=end,
        after_load=_rain_after_load(start, end) if rain else None,
    )


# -- WaterML 2.0 and NWIS JSON: shared ------------------------------------------------------

VARIABLES = {  # what a series measures -> (table, column, quantity, station type)
    "q": ("river_obs", "q", "flow", "ZQ"),
    "z": ("river_obs", "z", "level", "ZZ"),
    "drp": ("rain_obs", "drp", "rain", "PP"),
}
NWIS_PARAMETERS = {"00060": "q", "00061": "q", "00065": "z", "00045": "drp"}
_STATION_RANK = {"ZQ": 0, "ZZ": 1, "PP": 2}


def _variable_of(*names: str | None) -> str | None:
    """Our variable for a property title / URI (discharge, stage, precipitation)."""
    for name in names:
        if not name:
            continue
        low = name.lower()
        code = re.search(r"parmcd=(\d{5})", low)
        if code and code.group(1) in NWIS_PARAMETERS:
            return NWIS_PARAMETERS[code.group(1)]
        if any(w in low for w in ("discharge", "streamflow", "flow rate", "river flow")):
            return "q"
        if any(w in low for w in ("gage height", "gauge height", "stage", "water level")):
            return "z"
        if any(w in low for w in ("precipitation", "rainfall")):
            return "drp"
    return None


@dataclass
class Point:
    """One value of a series, before checks."""

    stcd: str
    variable: str
    time: str
    value: str | float | None
    unit: str | None
    record: str
    nodata: float | None = None


@dataclass
class Site:
    """A monitoring point that registers or updates a station."""

    stcd: str
    name: str | None
    lon: float | None
    lat: float | None
    variables: set[str] = field(default_factory=set)


def _points_batch(
    kind: str, path: Path, ctx: Context, sites: list[Site], points: list[Point]
) -> Batch:
    """Turn the points and sites of a WaterML / NWIS document into station and obs loads."""
    problems: list[Problem] = []
    book = StationBook(ctx.conn)
    station_rows = []
    book.lookup([s.stcd for s in sites])
    for site in _merge_sites(sites):
        known = book.known.get(site.stcd)
        if site.lon is None or site.lat is None or not site.name:
            continue  # cannot register: obs load only if the station already exists
        sttp = (
            known[0]
            if known
            else min((VARIABLES[v][3] for v in site.variables), key=_STATION_RANK.get, default="ZQ")
        )
        station_rows.append(
            {
                RECORD: f"monitoring point {site.stcd}",
                "stcd": site.stcd,
                "stnm": site.name,
                "sttp": sttp,
                "dataset_id": known[1] if known else STATION_DATASET,
                "geom": shapely.Point(site.lon, site.lat),
            }
        )
        book.registered.add(site.stcd)
    stations = pd.DataFrame(station_rows)
    frame = pd.DataFrame([p.__dict__ for p in points])
    loads: list[TableLoad] = []
    times = pd.Series(dtype="datetime64[ns, UTC]")
    if len(frame):
        good, bad = _check_points(frame, book, ctx.now)
        problems.extend(bad)
        times = good["tm"]
        for table in ("river_obs", "rain_obs"):
            part = good[good["table"] == table]
            if len(part):
                loads.append(TableLoad(table, _merge_points(part), key=("stcd", "tm")))
    rain = any(load.table == "rain_obs" for load in loads)
    start = _py(times.min()) if len(times) else None
    end = _py(times.max()) if len(times) else None
    return Batch(
        kind,
        _station_loads(ctx, stations) + loads,
        problems,
        valid_from=start,
        valid_to=end,
        after_load=_rain_after_load(start, end) if rain else None,
        event={"stations": len(stations)},
    )


def _merge_sites(sites: list[Site]) -> list[Site]:
    out: dict[str, Site] = {}
    for s in sites:
        have = out.setdefault(s.stcd, Site(s.stcd, s.name, s.lon, s.lat))
        have.name = have.name or s.name
        if have.lon is None:
            have.lon, have.lat = s.lon, s.lat
        have.variables |= s.variables
    return list(out.values())


def _check_points(
    frame: pd.DataFrame, book: StationBook, now: datetime
) -> tuple[pd.DataFrame, list[Problem]]:
    n = len(frame)
    raw = frame[["record", "stcd", "variable", "time", "value", "unit"]]
    flags = _Flags(n, frame["record"].to_numpy(dtype=object), raw, True)
    tm, naive = zoned_times(frame["time"])
    flags.flag(
        naive,
        "time",
        lambda i: (
            f"time {frame['time'].iloc[i]!r} has no UTC offset: WaterML/NWIS times must"
            " carry one (a date-only daily value cannot be placed in UTC)"
        ),
    )
    flags.flag(tm.isna().to_numpy(), "time", lambda i: f"unreadable time {frame['time'].iloc[i]!r}")
    limit = pd.Timestamp(now).tz_convert("UTC") + FUTURE_SLACK
    flags.flag(
        ((tm < EARLIEST) | (tm > limit)).fillna(False).to_numpy(),
        "time",
        lambda i: f"time {frame['time'].iloc[i]!r} is before 1900 or in the future",
    )
    value, junk = _numbers(frame["value"].astype(object).where(frame["value"].notna(), None))
    flags.flag(frame["value"].isna().to_numpy(), "value", lambda _i: "missing value (nil or empty)")
    flags.flag(junk, "value", lambda i: f"{frame['value'].iloc[i]!r} is not a number")
    nodata = frame["nodata"].astype("float64")
    flags.flag(
        ((value == nodata) | value.isin(SENTINELS)).to_numpy(),
        "value",
        lambda i: f"no-data value {value.iloc[i]:g}, not a measurement",
    )
    factors = np.array(
        [
            _unit_factor(VARIABLES[v][2], u) if _filled(u) else None
            for v, u in zip(frame["variable"], frame["unit"], strict=True)
        ],
        dtype=object,
    )
    flags.flag(np.array([f is None for f in factors], dtype=bool), "uom", _unit_reason(frame))
    value = value * np.array([f if f is not None else np.nan for f in factors], dtype="float64")
    is_rain = (frame["variable"] == "drp").to_numpy()
    flags.flag(
        is_rain & (value < 0).to_numpy(), "value", lambda i: f"negative rainfall {value.iloc[i]:g}"
    )
    flags.flag(
        is_rain & (value > HOURLY_RAIN_MAX_MM * 24).to_numpy(),
        "value",
        lambda i: f"rainfall {value.iloc[i]:g} mm is impossible",
    )
    known = book.mask(frame["stcd"].where(~flags.bad))
    flags.flag(~known, "STCD", lambda i: f"unknown station STCD {frame['stcd'].iloc[i]!r}")
    keep = ~flags.bad
    good = pd.DataFrame(
        {
            RECORD: frame["record"][keep].to_numpy(),
            "stcd": frame["stcd"][keep].to_numpy(),
            "tm": tm[keep].to_numpy(),
            "variable": frame["variable"][keep].to_numpy(),
            "value": value[keep].to_numpy(),
        }
    )
    good["tm"] = pd.to_datetime(good["tm"], utc=True)
    good["table"] = good["variable"].map(lambda v: VARIABLES[v][0])
    return good, flags.build()


_NAMES = {"q": "discharge", "z": "stage", "drp": "precipitation"}


def _unit_reason(frame: pd.DataFrame) -> Callable[[int], str]:
    def reason(i: int) -> str:
        unit, variable = frame["unit"].iloc[i], frame["variable"].iloc[i]
        known = ", ".join(UNITS[VARIABLES[variable][2]])
        if not _filled(unit):
            return f"no unit of measure given for {_NAMES[variable]} (known: {known})"
        return f"unknown unit {unit!r} for {_NAMES[variable]} (known: {known})"

    return reason


def _merge_points(part: pd.DataFrame) -> pd.DataFrame:
    """One row per (station, time) with one column per variable (Q and Z of a gauge merge).

    A variable given twice for the same station and time keeps its last value; the earlier
    point is emitted as an extra copy of the row just before it, so the pipeline counts it as
    a duplicate.
    """
    part = part.reset_index(drop=True)
    dup = part.duplicated(["stcd", "tm", "variable"], keep="last").to_numpy()
    last = part[~dup]
    wide = last.pivot(index=["stcd", "tm"], columns="variable", values="value")
    records = last.groupby(["stcd", "tm"])[RECORD].first()
    wide = wide.join(records).reset_index()
    extra = part[dup][["stcd", "tm", RECORD]].merge(
        wide.drop(columns=[RECORD]), on=["stcd", "tm"], how="left"
    )
    merged = pd.concat([extra, wide], ignore_index=True)
    columns = [RECORD, "stcd", "tm"] + [c for c in ("z", "q", "drp") if c in merged]
    return merged[columns]


# -- WaterML 2.0 ------------------------------------------------------------------------------

NS = {
    "wml2": "http://www.opengis.net/waterml/2.0",
    "gml": "http://www.opengis.net/gml/3.2",
    "om": "http://www.opengis.net/om/2.0",
    "sa": "http://www.opengis.net/sampling/2.0",
    "sams": "http://www.opengis.net/samplingSpatial/2.0",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
_XLINK_TITLE = f"{{{NS['xlink']}}}title"
_XLINK_HREF = f"{{{NS['xlink']}}}href"
_GML_ID = f"{{{NS['gml']}}}id"


def _station_code(*candidates: str | None) -> str | None:
    """The first 8-character [0-9A-Z] token of the candidates (``USGS.01646500`` → 01646500)."""
    for text in candidates:
        if not text:
            continue
        for token in re.split(r"[.:/=&?,;\s_-]+", text):
            if _CODE.match(token.upper()) and any(ch.isdigit() for ch in token):
                return token.upper()
    return None


def _position(point: etree._Element | None) -> tuple[float | None, float | None]:
    """(lon, lat) in WGS 84 of a gml:Point (gml:pos in the axis order of its srsName)."""
    if point is None:
        return None, None
    pos = point.find("gml:pos", NS)
    if pos is None or not (pos.text or "").split():
        return None, None
    srs = pos.get("srsName") or point.get("srsName") or "EPSG:4326"
    a, b = (float(v) for v in pos.text.split()[:2])
    crs = CRS.from_user_input(re.sub(r"^urn:ogc:def:crs:EPSG:[0-9.]*:", "EPSG:", srs))
    if crs.to_epsg() in (4326, 4490):
        return b, a  # EPSG axis order: latitude, longitude
    lat, lon = Transformer.from_crs(crs, "EPSG:4326").transform(a, b)
    return lon, lat


def _wml2_site(obs: etree._Element, collection_id: str | None) -> Site | None:
    foi = obs.find("om:featureOfInterest", NS)
    if foi is None:
        return None
    mp = foi.find("wml2:MonitoringPoint", NS)
    if mp is None:
        mp = foi.find("sams:SF_SpatialSamplingFeature", NS)
    ident = name = ref_href = ref_title = mp_id = None
    point = None
    if mp is not None:
        ident = mp.findtext("gml:identifier", namespaces=NS)
        name = mp.findtext("gml:name", namespaces=NS)
        mp_id = mp.get(_GML_ID)
        ref = mp.find("gml:descriptionReference", NS)
        if ref is not None:
            ref_href, ref_title = ref.get(_XLINK_HREF), ref.get(_XLINK_TITLE)
        point = mp.find("sams:shape/gml:Point", NS)
    sites = re.search(r"sites?=([0-9A-Za-z]+)", ref_href or foi.get(_XLINK_HREF) or "")
    code = _station_code(ident, sites.group(1) if sites else None, mp_id, collection_id)
    if code is None:
        return None
    lon, lat = _position(point)
    return Site(code, name or foi.get(_XLINK_TITLE) or ref_title, lon, lat)


def _uom(meta: etree._Element | None) -> str | None:
    if meta is None:
        return None
    uom = meta.find("wml2:uom", NS)
    if uom is None:
        return None
    return uom.get("code") or uom.get(_XLINK_TITLE) or uom.get(_XLINK_HREF)


_HAS_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2})$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def with_document_offset(time: str, offset: str | None) -> str:
    """Place a time without offset in the zone its document declares (daily values are dates).

    WaterML 2.0 daily values are written as dates (``2014-09-01``) and NWIS JSON daily values
    as local times; the document states its zone elsewhere (the resultTime's offset, the
    site's ``defaultTimeZone``). With no declared zone the time stays as it is and is
    quarantined later, since it cannot be placed in UTC.
    """
    if not time or offset is None or _HAS_OFFSET.search(time):
        return time
    if _DATE_ONLY.match(time):
        return f"{time}T00:00:00{offset}"
    return f"{time}{offset}"


def _offset_of(stamp: str | None) -> str | None:
    match = _HAS_OFFSET.search(stamp or "")
    if not match:
        return None
    found = match.group(0)
    return "+00:00" if found in ("z", "Z") else found


def parse_waterml2(path: Path, ctx: Context) -> Batch:
    """Parse an OGC WaterML 2.0 collection (streamed one observation at a time)."""
    parser_opts = {"resolve_entities": False, "no_network": True, "huge_tree": False}
    sites: list[Site] = []
    points: list[Point] = []
    problems: list[Problem] = []
    collection_id = None
    n_obs = 0
    try:
        events = etree.iterparse(
            str(path), events=("start", "end"), remove_comments=True, **parser_opts
        )
        for event, el in events:
            if event == "start":
                if el.tag == f"{{{NS['wml2']}}}Collection" and collection_id is None:
                    collection_id = el.get(_GML_ID)
                continue
            parent = el.getparent()
            if (
                el.tag == f"{{{NS['gml']}}}identifier"
                and parent is not None
                and parent.tag == f"{{{NS['wml2']}}}Collection"
            ):
                collection_id = el.text or collection_id
            if el.tag != f"{{{NS['om']}}}OM_Observation":
                continue
            n_obs += 1
            _wml2_observation(el, n_obs, collection_id, sites, points, problems)
            el.clear()
    except etree.XMLSyntaxError as exc:
        raise FeedReadError(f"{path.name}: not well-formed XML ({exc})") from exc
    if n_obs == 0:
        raise FeedReadError(f"{path.name}: no om:OM_Observation in this WaterML 2.0 document")
    if not sites and not points and not problems:
        raise FeedReadError(
            f"{path.name}: no discharge, stage or precipitation series in {n_obs} observation(s)"
        )
    batch = _points_batch(KIND_WATERML2, path, ctx, sites, points)
    batch.problems[:0] = problems
    return batch


def _wml2_observation(
    obs: etree._Element,
    n: int,
    collection_id: str | None,
    sites: list[Site],
    points: list[Point],
    problems: list[Problem],
) -> None:
    prop = obs.find("om:observedProperty", NS)
    title = prop.get(_XLINK_TITLE) if prop is not None else None
    href = prop.get(_XLINK_HREF) if prop is not None else None
    variable = _variable_of(href, title)
    if variable is None:
        return  # not a quantity riskmap stores (temperature, turbidity, ...)
    site = _wml2_site(obs, collection_id)
    if site is None:
        problems.append(
            Problem(
                f"observation {n}",
                "featureOfInterest",
                "no monitoring point with an 8-character station code (STCD)",
            )
        )
        return
    site.variables.add(variable)
    sites.append(site)
    series = obs.find("om:result/wml2:MeasurementTimeseries", NS)
    if series is None:
        return
    default_uom = _uom(
        series.find("wml2:defaultPointMetadata/wml2:DefaultTVPMeasurementMetadata", NS)
    )
    offset = _offset_of(
        obs.findtext("om:resultTime/gml:TimeInstant/gml:timePosition", namespaces=NS)
    )
    for j, tvp in enumerate(series.iterfind("wml2:point/wml2:MeasurementTVP", NS), start=1):
        time = tvp.findtext("wml2:time", namespaces=NS)
        value_el = tvp.find("wml2:value", NS)
        if time is None and value_el is None:
            continue  # a metadata-only point (USGS writes one before the values)
        nil = value_el is not None and value_el.get(f"{{{NS['xsi']}}}nil") == "true"
        value = None if value_el is None or nil else (value_el.text or "").strip() or None
        unit = _uom(tvp.find("wml2:metadata/wml2:TVPMeasurementMetadata", NS)) or default_uom
        points.append(
            Point(
                site.stcd,
                variable,
                with_document_offset(time or "", offset),
                value,
                unit,
                f"observation {n} point {j}",
            )
        )


# -- USGS NWIS WaterML-JSON ----------------------------------------------------------------------


def parse_nwis_json(path: Path, ctx: Context) -> Batch:
    """Parse a USGS NWIS WaterML-JSON response (instantaneous or daily values)."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
        series = doc["value"]["timeSeries"]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedReadError(f"{path.name}: not valid UTF-8 JSON ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise FeedReadError(f"{path.name}: no value.timeSeries in this NWIS response") from exc
    sites: list[Site] = []
    points: list[Point] = []
    problems: list[Problem] = []
    for i, ts in enumerate(series, start=1):
        _nwis_series(ts, i, sites, points, problems)
    if not sites and not problems:
        raise FeedReadError(
            f"{path.name}: no discharge (00060), gage height (00065) or precipitation (00045)"
            f" series among {len(series)}"
        )
    batch = _points_batch(KIND_NWIS, path, ctx, sites, points)
    batch.problems[:0] = problems
    return batch


def _nwis_series(
    ts: dict, i: int, sites: list[Site], points: list[Point], problems: list[Problem]
) -> None:
    var = ts.get("variable") or {}
    codes = [c.get("value") for c in var.get("variableCode") or []]
    variable = next((NWIS_PARAMETERS[c] for c in codes if c in NWIS_PARAMETERS), None)
    if variable is None:
        return
    src = ts.get("sourceInfo") or {}
    site_no = next((c.get("value") for c in src.get("siteCode") or []), None)
    label = f"series {i} ({ts.get('name', '')})"
    if not site_no or not _CODE.match(str(site_no)):
        problems.append(
            Problem(label, "siteCode", f"site number {site_no!r} does not fit an 8-character STCD")
        )
        return
    geo = (src.get("geoLocation") or {}).get("geogLocation") or {}
    lon, lat = geo.get("longitude"), geo.get("latitude")
    if geo.get("srs") not in (None, "EPSG:4326", "EPSG:4269") and lon is not None:
        lat, lon = Transformer.from_crs(geo["srs"], "EPSG:4326").transform(lat, lon)
    sites.append(Site(site_no, src.get("siteName"), lon, lat, {variable}))
    unit = (var.get("unit") or {}).get("unitCode")
    nodata = var.get("noDataValue")
    zone = ((src.get("timeZoneInfo") or {}).get("defaultTimeZone") or {}).get("zoneOffset")
    for block in ts.get("values") or []:
        for j, v in enumerate(block.get("value") or [], start=1):
            points.append(
                Point(
                    site_no,
                    variable,
                    with_document_offset(v.get("dateTime") or "", zone),
                    v.get("value"),
                    unit,
                    f"{label} value {j}",
                    float(nodata) if nodata is not None else None,
                )
            )


# -- the feeds -----------------------------------------------------------------------------

KIND_SL323 = "hydro-sl323"
KIND_WATERML2 = "hydro-waterml2"
KIND_NWIS = "hydro-nwis-json"


def _json_head(head: bytes) -> str:
    return head.lstrip(codecs.BOM_UTF8).lstrip().decode("utf-8", errors="ignore")


class Sl323Feed:
    """SL 323 rain and water tables as CSV or JSON."""

    kind = KIND_SL323
    description = (
        "SL 323 rain/water tables ST_PPTN_R, ST_RIVER_R, ST_RSVR_R, ST_STBPRP_B (CSV or JSON)"
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        try:
            text = _json_head(head)
            if text.startswith(("[", "{")):
                return bool(
                    re.search(r'"stcd"\s*:', text, re.IGNORECASE)
                    or re.search(r'"table"\s*:\s*"ST_', text, re.IGNORECASE)
                )
            cols = set(_split_header(_header_line(head)))
            if "STCD" in cols and ("TM" in cols or "STNM" in cols):
                return True
            return _table_from_name(path) is not None and path.suffix.lower() in (".csv", ".txt")
        except (ValueError, IndexError):  # undecodable head: not an SL 323 table
            return False

    def parse(self, path: Path, ctx: Context) -> Batch:
        head = path.open("rb").read(4096)
        if _json_head(head).startswith(("[", "{")):
            return parse_sl323_json(path, ctx)
        return parse_sl323_csv(path, ctx)


class WaterML2Feed:
    """OGC WaterML 2.0 measurement time series."""

    kind = KIND_WATERML2
    description = "OGC WaterML 2.0 time series (discharge, stage, precipitation)"

    def sniff(self, path: Path, head: bytes) -> bool:
        return b"http://www.opengis.net/waterml/2.0" in head and b"<" in head[:200]

    def parse(self, path: Path, ctx: Context) -> Batch:
        return parse_waterml2(path, ctx)


class NwisJsonFeed:
    """USGS NWIS WaterML-JSON (instantaneous and daily values services)."""

    kind = KIND_NWIS
    description = "USGS NWIS WaterML-JSON (iv/dv): discharge, gage height, precipitation"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = _json_head(head)
        return text.startswith("{") and (
            "ns1:timeSeriesResponseType" in text or "org.cuahsi.waterml" in text
        )

    def parse(self, path: Path, ctx: Context) -> Batch:
        return parse_nwis_json(path, ctx)


register(Sl323Feed())
register(WaterML2Feed())
register(NwisJsonFeed())

__all__ = [
    "CHUNK_ROWS",
    "STATION_DATASET",
    "identify_table",
    "parse_nwis_json",
    "parse_sl323_csv",
    "parse_sl323_json",
    "parse_waterml2",
    "sl323_times",
    "zoned_times",
]
