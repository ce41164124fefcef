"""Validation of one frame of hydrology rows: station codes, times, numbers, units, rain.

Vectorised over the frame; only the bad rows become problems. The SL 323 readers check their
tables here; the WaterML / NWIS series reuse the row flags, the number parsing and the
station book.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import psycopg
import shapely

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.vocabulary import HOURLY_RAIN_MAX_MM, RAIN_MAX_MM
from riskmap.ingest.batch import RECORD, Problem
from riskmap.ingest.feeds.hydro.loads import STATION_DATASET
from riskmap.ingest.feeds.hydro.tables import (
    PPTN,
    STATION_TYPES,
    STBPRP,
    STCD_PATTERN,
    UNITS,
    Sl323Table,
    unit_factor,
)
from riskmap.ingest.feeds.hydro.times import sl323_times

SQL = SqlFiles("riskmap.ingest.sql")
SENTINELS = frozenset({-99.0, -999.0, -9999.0, -99999.0, -999999.0, 9999.0, 99999.0, 999999.0})
FUTURE_SLACK = pd.Timedelta(days=1)
EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")


class StationBook:
    """Station codes known to the database or registered by the file being read.

    Looks codes up lazily, a chunk's new codes at a time, through the parser's read-only
    connection; or holds every station from the start (:meth:`every_station`), for a reader
    that checks rows in a worker thread while the load uses the connection.
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.known: dict[str, tuple[str, str] | None] = {}  # code -> (sttp, dataset) or None
        self.registered: set[str] = set()
        self.complete = False  # every station is in ``known``: never ask the database

    @classmethod
    def every_station(cls, conn: psycopg.Connection) -> StationBook:
        """A book of all stations, read once (a region has thousands, not millions)."""
        book = cls(conn)
        for stcd, sttp, dataset_id in SQL.rows(conn, "hydro_all_stations.sql", shape="tuple"):
            book.known[stcd] = (sttp, dataset_id)
        book.complete = True
        return book

    def lookup(self, codes: Iterable[str]) -> None:
        if self.complete:
            return
        new = [c for c in set(codes) if c not in self.known and c not in self.registered]
        if not new:
            return
        for c in new:
            self.known[c] = None
        rows = SQL.rows(self.conn, "hydro_known_stations.sql", {"codes": new}, shape="tuple")
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


class Flags:
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
            row = {k: v for k, v in self.raw.iloc[i].to_dict().items() if filled(v)}
            raw = json.dumps(row, ensure_ascii=False, default=str)[:2000]
            out.append(Problem(str(self.labels[i]), column, reason, raw))
        return out


def filled(v: object) -> bool:
    """False for None, NaN and blank text."""
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return not (isinstance(v, str) and not v.strip())


def numbers(col: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Column as float64; mask of non-empty values that are not (finite) numbers."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        num = col.astype("float64")
        return num, np.isinf(num.to_numpy())  # "inf" in a CSV, Infinity in JSON
    text = col.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce").astype("float64")
    return num, (num.isna() & text.notna() & (text != "")).to_numpy() | np.isinf(num.to_numpy())


def outside_time_range(tm: pd.Series, now: datetime) -> np.ndarray:
    """True where a UTC time is before 1900 or later than ``now`` plus :data:`FUTURE_SLACK`."""
    limit = pd.Timestamp(now).tz_convert("UTC") + FUTURE_SLACK
    return ((tm < EARLIEST) | (tm > limit)).fillna(False).to_numpy()


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
    flags = Flags(n, labels, raw, want_problems)
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
    flags.flag(
        outside_time_range(tm, now),
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
    return ~_test_distinct(stcd, lambda v: bool(STCD_PATTERN.match(str(v))))


def _numeric_column(
    table: Sl323Table,
    raw: pd.DataFrame,
    column: str,
    flags: Flags,
    units: dict[str, str],
) -> pd.Series:
    if column not in raw:
        return pd.Series(np.nan, index=raw.index, dtype="float64")
    num, junk = numbers(raw[column])
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
        factor = unit_factor(quantity, units[column])
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


def _text_column(raw: pd.DataFrame, column: str, flags: Flags) -> pd.Series:
    if column not in raw:
        return pd.Series(None, index=raw.index, dtype="object")
    text = _per_distinct(raw[column], lambda v: str(v).strip() or None)
    flags.flag(
        _test_distinct(text, lambda v: len(str(v)) > 1),
        column,
        lambda i: f"code {text.iloc[i]!r} is longer than one character",
    )
    return text


def _check_rain(out: pd.DataFrame, raw: pd.DataFrame, flags: Flags) -> None:
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
    flags = Flags(len(raw), labels, raw, want_problems)
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
    lon, junk_lon = numbers(raw["LGTD"])
    lat, junk_lat = numbers(raw["LTTD"])
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
