"""Monitoring sensor readings (CSV or JSON) → ``sensor_obs`` in the sensor's unit.

GNSS displacement, crack meters, slope rain gauges, tailings-dam phreatic lines … report under
many column names and units; this streams the readings, looks each sensor up, converts to its
unit and quarantines sentinels and impossible values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.ingest.batch import RECORD, Batch, Context, FeedReadError, Problem, TableLoad
from riskmap.ingest.feeds.features.fields import SENTINELS, norm_key, parse_time, pick
from riskmap.ingest.feeds.features.geojson import read_text
from riskmap.ingest.feeds.features.sniff import has_key, read_head
from riskmap.ingest.feeds.geohazard.units import convert

SQL = SqlFiles("riskmap.ingest.sql")
CSV_CHUNK_ROWS = 50_000
SENSOR_FIELDS: dict[str, tuple[str, ...]] = {
    "sensor_id": ("sensor_id", "sensor", "传感器编号", "设备编号", "监测点编号", "station_id"),
    "tm": ("tm", "time", "timestamp", "观测时间", "监测时间", "时间", "datetime"),
    "value": ("value", "监测值", "值", "观测值", "reading"),
    "unit": ("unit", "单位", "units"),
}
NON_NEGATIVE_KINDS = ("rain_gauge", "gas")


class SensorReadings:
    """Monitoring sensor readings (CSV or JSON) → ``sensor_obs`` in the sensor's unit."""

    kind = "sensor-readings"
    description = "geohazard / site monitoring sensor readings (CSV or JSON)"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = read_head(path, head, 8192)
        if text.startswith(("{", "[")):
            return has_key(text, "sensor_id") and has_key(text, "value", "readings")
        first = {norm_key(c) for c in text.split("\n", 1)[0].split(",")}
        return (
            bool(first & set(SENSOR_FIELDS["sensor_id"]))
            and bool(first & set(SENSOR_FIELDS["value"]))
            and bool(first & set(SENSOR_FIELDS["tm"]))
        )

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Read entries (streamed for CSV), look sensors up, convert units, check values."""
        entries = self._json_entries(path) if self._is_json(path) else self._csv_entries(path)
        rows: list[dict] = []
        problems: list[Problem] = []
        sensors: dict[str, tuple[str, str]] = {}
        seen_any = False
        for chunk in entries:
            seen_any = seen_any or bool(chunk)
            ids = sorted({str(e[1].get("sensor_id", "")).strip() for e in chunk} - set(sensors))
            found = SQL.rows(ctx.conn, "geohazard_sensors.sql", {"ids": ids}, shape="tuple")
            for sid, kind, unit in found:
                sensors[sid] = (kind, unit)
            for record, entry in chunk:
                out = _reading(record, entry, sensors)
                (problems if isinstance(out, Problem) else rows).append(out)
        if not seen_any:
            raise FeedReadError(f"{path.name}: no readings")
        frame = pd.DataFrame(rows, columns=[RECORD, "sensor_id", "tm", "value", "unit"])
        tms = frame["tm"]
        return Batch(
            self.kind,
            [TableLoad("sensor_obs", frame, key=("sensor_id", "tm"))],
            problems,
            valid_from=tms.min() if len(tms) else None,
            valid_to=tms.max() if len(tms) else None,
        )

    @staticmethod
    def _is_json(path: Path) -> bool:
        with path.open("rb") as fh:
            start = fh.read(64).decode("utf-8", errors="ignore").lstrip("\ufeff \r\n\t")
        return start.startswith(("{", "["))

    @staticmethod
    def _json_entries(path: Path) -> Iterator[list[tuple[str, dict]]]:
        try:
            doc = json.loads(read_text(path))
        except json.JSONDecodeError as exc:
            raise FeedReadError(f"{path.name}: not JSON ({exc})") from exc
        defaults: dict[str, Any] = {}
        if isinstance(doc, dict):
            defaults = {norm_key(k): v for k, v in doc.items() if not isinstance(v, (list, dict))}
            doc = doc.get("readings", doc.get("data"))
        if not isinstance(doc, list):
            raise FeedReadError(
                f"{path.name}: expected a list of readings or {{'readings': [...]}}"
            )
        out = []
        for i, item in enumerate(doc, start=1):
            props = {norm_key(k): v for k, v in item.items()} if isinstance(item, dict) else {}
            merged = {**defaults, **props}
            entry = {c: pick(merged, a)[1] for c, a in SENSOR_FIELDS.items()}
            entry["_raw"] = json.dumps(item, ensure_ascii=False, default=str)[:2000]
            out.append((f"entry {i}", entry))
        yield out

    @staticmethod
    def _csv_entries(path: Path) -> Iterator[list[tuple[str, dict]]]:
        if path.stat().st_size == 0:
            raise FeedReadError(f"{path.name}: empty file")
        try:
            reader = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                chunksize=CSV_CHUNK_ROWS,
                encoding="utf-8-sig",
                skipinitialspace=True,
            )
            first = True
            line = 2
            for chunk in reader:
                chunk = chunk.rename(columns=norm_key)
                if first:
                    _require_columns(path, chunk.columns)
                    first = False
                cols = {
                    c: next((a for a in al if a in chunk.columns), None)
                    for c, al in SENSOR_FIELDS.items()
                }
                out = []
                for rec in chunk.to_dict("records"):
                    entry = {c: (rec[a] if a else None) for c, a in cols.items()}
                    entry["_raw"] = json.dumps(rec, ensure_ascii=False)[:2000]
                    out.append((f"line {line}", entry))
                    line += 1
                yield out
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise FeedReadError(f"{path.name}: cannot be read as CSV: {exc}") from exc


def _require_columns(path: Path, columns: pd.Index) -> None:
    for column, aliases in SENSOR_FIELDS.items():
        if not any(a in columns for a in aliases):
            raise FeedReadError(f"{path.name}: no {column} column (one of {', '.join(aliases)})")


def _reading(record: str, entry: dict, sensors: dict[str, tuple[str, str]]) -> dict | Problem:
    """One sensor_obs row or the problem with it."""
    raw = entry.get("_raw")
    sid = str(entry.get("sensor_id") or "").strip()
    if not sid:
        return Problem(record, "sensor_id", "missing sensor id", raw)
    if sid not in sensors:
        return Problem(record, "sensor_id", f"unknown sensor {sid!r}", raw)
    kind, sensor_unit = sensors[sid]
    try:
        tm = parse_time(entry.get("tm") or "")
    except ValueError as exc:
        return Problem(record, "tm", str(exc), raw)
    try:
        value = float(str(entry.get("value")).strip())
    except ValueError:
        return Problem(record, "value", f"not a number: {entry.get('value')!r}", raw)
    if not math.isfinite(value) or value in SENTINELS or abs(value) >= 1e6:
        return Problem(record, "value", f"missing-data sentinel or impossible value {value}", raw)
    unit = str(entry.get("unit") or "").strip()
    if not unit:
        return Problem(record, "unit", f"no unit (sensor {sid} reads {sensor_unit})", raw)
    converted = convert(value, unit, sensor_unit)
    if converted is None:
        return Problem(
            record, "unit", f"unit {unit!r} does not match sensor {sid}'s unit {sensor_unit!r}", raw
        )
    if kind in NON_NEGATIVE_KINDS and converted < 0:
        return Problem(record, "value", f"negative {kind} reading {value}", raw)
    return {RECORD: record, "sensor_id": sid, "tm": tm, "value": converted, "unit": sensor_unit}
