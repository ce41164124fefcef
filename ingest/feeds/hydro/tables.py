"""The SL 323 tables riskmap reads, their units, and which table a file holds.

Shared by the CSV and JSON readers (and the unit conversion of WaterML / NWIS series), so a
table, a station type or a unit spelling is defined once.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from riskmap.ingest.batch import FeedReadError

KIND_SL323 = "hydro-sl323"
STCD_PATTERN = re.compile(r"^[0-9A-Z]{8}$")  # a station code (STCD)


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


def unit_factor(quantity: str, unit: str | None) -> float | None:
    """Factor from ``unit`` to the SL 323 unit of ``quantity``; None when unknown."""
    if unit is None or not str(unit).strip():
        return 1.0
    key = html.unescape(str(unit)).strip().lower().replace(" ", "")
    table = {k.replace(" ", ""): v for k, v in UNITS[quantity].items()}
    return table.get(key)


def table_from_name(path: Path) -> Sl323Table | None:
    """The table a file name starts with (``ST_PPTN_R_2024.csv``), if any."""
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
    named = named or table_from_name(path)
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
