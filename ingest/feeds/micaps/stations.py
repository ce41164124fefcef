"""MICAPS type 3 (``diamond 3``) station rainfall → ``rain_obs``, through the SL 323 checks.

Layout (MICAPS type 3 "discrete station data"), whitespace-separated after line 1::

    diamond 3 <description>
    year month day hour level
    contour_count [contour values …]
    smoothing bold_value
    boundary_points [lon lat …]
    values_per_station station_count
    <one record a line: station_id lon lat elevation value>

Each record becomes an SL 323 ``ST_PPTN_R`` row (DRP = the value, INTV = the accumulation the
description or level states, TM = the header time, Beijing → UTC) and goes through the same
checks, quarantine and load as an SL 323 rain table (:func:`.hydro.checks.check_frame`):
sentinels such as 9999 (missing), negative or impossible rain, unknown stations.

Station codes: a 5-character CMA station id (``57745``) becomes the 8-character code
``CMA57745`` (SL 323 codes are 8 characters; the prefix keeps the two networks apart); an
8-character id is taken as an SL 323 code. A station not yet in ``station`` is registered as a
rain station (PP) when its point lies in one of this installation's counties; a station
outside them is skipped (counted in the event as ``stations_outside``): a national file is
not a fault of ours to quarantine.
"""

from __future__ import annotations

import re
from itertools import groupby
from pathlib import Path

import numpy as np
import pandas as pd

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.ingest.batch import Batch, Context, FeedReadError, Problem
from riskmap.ingest.feeds.hydro.checks import StationBook, check_frame, check_stations
from riskmap.ingest.feeds.hydro.loads import rain_after_load, station_loads, table_load
from riskmap.ingest.feeds.hydro.tables import PPTN
from riskmap.ingest.feeds.hydro.times import py_datetime
from riskmap.ingest.feeds.micaps.header import MicapsText, header_time, rain_hours, read_text

KIND = "micaps-stations"
SQL = SqlFiles("riskmap.ingest.sql")
_CMA_ID = re.compile(r"^[0-9A-Z]{5}$")
_SL323_ID = re.compile(r"^[0-9A-Z]{8}$")
FIELDS = {"STCD": "id", "DRP": "value", "TM": "time", "INTV": "description/level"}


def station_code(station_id: str) -> str | None:
    """The ``station`` code of a MICAPS station id (see the module doc), or None."""
    sid = station_id.strip().upper()
    if _CMA_ID.match(sid):
        return f"CMA{sid}"
    return sid if _SL323_ID.match(sid) else None


def parse_micaps3(path: Path, ctx: Context) -> Batch:
    """Read a MICAPS type 3 rainfall file into station registrations and rain rows."""
    text = read_text(path)
    if text.type != 3:
        raise FeedReadError(f"{path.name}: line 1: MICAPS type {text.type}, not 3 (stations)")
    tm, _line = header_time(text)
    hours = rain_hours(text, text.integer("level"))
    _skip_header(text)
    records, problems = _records(text)
    if records.empty:
        raise FeedReadError(f"{path.name}: no station record could be read")
    book = StationBook(ctx.conn)
    book.lookup(records["STCD"])
    stations, outside, station_problems = _register(ctx, records, book)
    problems += station_problems
    records = records[~records["STCD"].isin(outside)]
    raw = records.assign(TM=tm.isoformat(), INTV=hours)[["STCD", "TM", "DRP", "INTV"]]
    checked = check_frame(PPTN, raw.reset_index(drop=True), records["_label"].to_numpy(), book,
                          ctx.now)  # fmt: skip
    problems += [_micaps_field(p) for p in checked.problems]
    start = py_datetime(checked.tm.min()) if len(checked.tm) else None
    return Batch(
        KIND,
        [*station_loads(ctx, stations), table_load(PPTN, checked.frame, ("stcd", "tm"))],
        problems,
        valid_from=start,
        valid_to=start,
        after_load=rain_after_load(start, start),
        event={"stations_outside": len(outside), "hours": hours},
    )


def _micaps_field(problem: Problem) -> Problem:
    """A problem of the SL 323 checks, its field named as the MICAPS file names it."""
    field = FIELDS.get(problem.field or "", problem.field)
    return Problem(problem.record, field, problem.reason, problem.raw)


def _skip_header(text: MicapsText) -> None:
    """Contours, smoothing and the clipping boundary: read (so errors name them), not kept."""
    for i in range(text.integer("contour_count")):
        text.number(f"contour_value {i + 1}")
    text.number("smoothing")
    text.number("bold_value")
    for i in range(text.integer("boundary_points")):
        text.number(f"boundary lon {i + 1}")
        text.number(f"boundary lat {i + 1}")
    per_station = text.integer("values_per_station")
    if per_station != 1:
        raise FeedReadError(
            f"{text.name}: field values_per_station: {per_station} values per station; cannot"
            " tell which one is the rainfall (one value per station expected)"
        )


def _records(text: MicapsText) -> tuple[pd.DataFrame, list[Problem]]:
    """One record a line: id, lon, lat, elevation, value. A line with another number of fields
    or an id that is no station code is a problem; the others are kept."""
    at = text.tokens[text.pos].line if text.pos < len(text.tokens) else 0
    declared = text.integer("station_count")
    rows, problems = [], []
    for line, tokens in groupby(text.tokens[text.pos :], key=lambda t: t.line):
        words = [t.text for t in tokens]
        label = f"line {line}"
        if len(words) != 5:
            reason = f"not a station record: {len(words)} fields, expected 5"
            reason += " (id lon lat elevation value)"
            problems.append(Problem(label, None, reason, " ".join(words)))
            continue
        code = station_code(words[0])
        if code is None:
            reason = f"station id {words[0]!r} is neither a 5-character CMA id nor an SL 323 code"
            problems.append(Problem(label, "id", reason))
            continue
        lon, lat = _coordinate(words[1], -180, 180), _coordinate(words[2], -90, 90)
        if lon is None or lat is None:
            bad = "lon" if lon is None else "lat"
            value = words[1] if lon is None else words[2]
            problems.append(Problem(label, bad, f"{value!r} is not a {bad}itude in range"))
            continue
        rows.append({"_label": f"{label} (station {words[0]})", "STCD": code, "LGTD": lon,
                     "LTTD": lat, "DRP": words[4], "id": words[0]})  # fmt: skip
    found = len(rows) + len(problems)
    if found != declared:
        problems.append(
            Problem(f"line {at}", "station_count", f"{declared} stations declared, {found} found")
        )
    return pd.DataFrame(rows, columns=["_label", "STCD", "LGTD", "LTTD", "DRP", "id"]), problems


def _coordinate(text: str, low: float, high: float) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if low <= value <= high else None


def _register(
    ctx: Context, records: pd.DataFrame, book: StationBook
) -> tuple[pd.DataFrame, set[str], list[Problem]]:
    """Station rows for new stations inside this installation's counties; the codes of new
    stations outside them."""
    new = records[~records["STCD"].map(book.exists)].drop_duplicates("STCD", keep="last")
    if new.empty:
        return pd.DataFrame(), set(), []
    params = {"lon": new["LGTD"].tolist(), "lat": new["LTTD"].tolist()}
    county = dict(SQL.rows(ctx.conn, "micaps_station_counties.sql", params, shape="tuple"))
    inside = np.array([county.get(i + 1) is not None for i in range(len(new))], dtype=bool)
    outside = set(new["STCD"][~inside])
    new = new[inside]
    raw = pd.DataFrame(
        {
            "STCD": new["STCD"].to_numpy(),
            "STNM": [f"MICAPS {s}" for s in new["id"]],
            "STTP": "PP",
            "ADDVCD": [county[i + 1] for i in np.flatnonzero(inside)],
            "LGTD": new["LGTD"].to_numpy(),
            "LTTD": new["LTTD"].to_numpy(),
        }
    )
    checked = check_stations(raw, new["_label"].to_numpy(), book)
    return checked.frame, outside, checked.problems
