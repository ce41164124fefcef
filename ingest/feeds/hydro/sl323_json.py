"""SL 323 tables as JSON: a list of records, one table object, or a bundle of tables.

Read whole (JSON exports are small); stations load first so observations may refer to the
stations the same file registers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from riskmap.ingest.batch import Batch, Context, FeedReadError, Problem, TableLoad
from riskmap.ingest.feeds.hydro.checks import StationBook, check_frame
from riskmap.ingest.feeds.hydro.loads import rain_after_load, station_loads, table_load
from riskmap.ingest.feeds.hydro.tables import KIND_SL323, PPTN, STBPRP, identify_table
from riskmap.ingest.feeds.hydro.times import py_datetime


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
            units = d.get("units") or {}
            if not isinstance(units, dict):
                raise FeedReadError(f"{path.name}: table {d['table']!r}: 'units' is not an object")
            out.append((str(d["table"]), d["rows"], units))
        return out
    return [(None, doc, {})]


def _scalar(value: object) -> object:
    """A value as the checks can take it: a list or object becomes its JSON text, which is
    then quarantined as not a number / not a code, naming its field."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value


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
        frame = pd.DataFrame(
            [{str(k).strip().upper(): _scalar(v) for k, v in r.items()} for r in rows]
        )
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
        loads.append(table_load(table, checked.frame, ("stcd", "tm")))
        valid.append(checked.tm)
    station_frame = pd.concat(stations, ignore_index=True) if stations else pd.DataFrame()
    times = pd.concat(valid) if valid else pd.Series(dtype="datetime64[ns, UTC]")
    rain = any(t is PPTN for t, _, _ in resolved)
    start = py_datetime(times.min()) if len(times) else None
    end = py_datetime(times.max()) if len(times) else None
    return Batch(
        KIND_SL323,
        station_loads(ctx, station_frame) + loads,
        problems,
        valid_from=start,
        valid_to=end,
        after_load=rain_after_load(start, end) if rain else None,
    )
