"""NASA FIRMS active-fire hotspots (MODIS or VIIRS CSV) → ``hotspot``.

FIRMS files differ by instrument (``brightness``/``bright_t31`` and confidence 0–100 for MODIS,
``bright_ti4``/``bright_ti5`` and low/nominal/high for VIIRS), by the optional ``instrument``
column and by ``acq_time`` padding; times are UTC. The CSV is streamed in chunks and checked
vectorised, so large downloads stay cheap. After loading, each new hotspot is tied to the nearest
village within :data:`NEAREST_VILLAGE_KM`, where the ground check starts.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.ingest.batch import RECORD, Batch, Context, FeedReadError, Problem, TableLoad
from riskmap.ingest.feeds.features.fields import norm_key
from riskmap.ingest.feeds.features.sniff import csv_header

SQL = SqlFiles("riskmap.ingest.sql")
NEAREST_VILLAGE_KM = 20.0  # how far a hotspot may be from a village to be tied to it
CSV_CHUNK_ROWS = 50_000
SENTINELS = (-999.0, -9999.0, -99999.0, -999999.0, 9999.0, 99999.0, 999999.0)
CONFIDENCE_CLASSES = {
    "l": "low",
    "n": "nominal",
    "h": "high",
    "low": "low",
    "nominal": "nominal",
    "high": "high",
}
FIRMS_COMMON = ("latitude", "longitude", "acq_date", "acq_time", "satellite")
HOTSPOT_COLUMNS = [
    RECORD,
    "satellite",
    "instrument",
    "acquired_at",
    "longitude",
    "latitude",
    "brightness_k",
    "bright_t31_k",
    "frp_mw",
    "confidence_pct",
    "confidence_class",
    "scan",
    "track",
    "version",
    "daynight",
]


class Hotspots:
    """NASA FIRMS active-fire CSV (MODIS or VIIRS) → ``hotspot``."""

    kind = "hotspots"
    description = "NASA FIRMS active fire CSV (MODIS C6.1 or VIIRS 375 m)"

    def sniff(self, path: Path, head: bytes) -> bool:
        cols = set(csv_header(path, head))
        return set(FIRMS_COMMON[:4]) <= cols and bool({"brightness", "bright_ti4"} & cols)

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Stream the CSV in chunks; each bad detection is a Problem naming line and field."""
        parts, problems = [], []
        for chunk, first_line in _firms_chunks(path):
            good, bad = _hotspot_frame(chunk, first_line, path)
            parts.append(good)
            problems.extend(bad)
        frame = (
            pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=HOTSPOT_COLUMNS)
        )
        times = frame["acquired_at"]
        return Batch(
            self.kind,
            [
                TableLoad(
                    "hotspot", frame, key=("satellite", "acquired_at", "longitude", "latitude")
                )
            ],
            problems,
            valid_from=times.min() if len(times) else None,
            valid_to=times.max() if len(times) else None,
            after_load=tie_to_villages,
        )


def _firms_chunks(path: Path) -> Iterator[tuple[pd.DataFrame, int]]:
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
            index_col=False,  # a longer first row must not turn column 1 into the index
        )
        line = 2
        seen = False
        for chunk in _strict(reader):
            chunk = chunk.rename(columns=norm_key)
            if not seen:
                _check_firms_columns(path, chunk.columns)
            seen = seen or not chunk.empty
            yield chunk, line
            line += len(chunk)
        if not seen:
            raise FeedReadError(f"{path.name}: header only, no detections")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise FeedReadError(f"{path.name}: cannot be read as CSV: {exc}") from exc
    except pd.errors.ParserWarning as exc:
        raise FeedReadError(
            f"{path.name}: cannot be read as CSV: a row has more fields than the header ({exc})"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise FeedReadError(f"{path.name}: empty file") from exc


def _strict(reader) -> Iterator[pd.DataFrame]:
    """pandas' chunks, where a row longer than the header raises (pandas only warns, and drops
    the extra fields) instead of being read with its fields cut off."""
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            chunk = next(reader, None)
        if chunk is None:
            return
        yield chunk


def _check_firms_columns(path: Path, columns: pd.Index) -> None:
    twice = sorted({c for c in columns if list(columns).count(c) > 1})
    if twice:
        raise FeedReadError(f"{path.name}: column(s) {twice} appear more than once in the header")
    missing = [c for c in (*FIRMS_COMMON, "confidence", "frp") if c not in columns]
    if "brightness" not in columns and "bright_ti4" not in columns:
        missing.append("brightness or bright_ti4")
    if missing:
        raise FeedReadError(f"{path.name}: not a FIRMS CSV, missing column(s) {missing}")


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.str.strip(), errors="coerce")


def _hotspot_frame(
    chunk: pd.DataFrame, first_line: int, path: Path
) -> tuple[pd.DataFrame, list[Problem]]:
    """Vectorised checks of one chunk; rows failing a check become Problems (first reason)."""
    n = len(chunk)
    labels = np.array([f"line {first_line + i}" for i in range(n)], dtype=object)
    modis = "brightness" in chunk.columns
    instrument = (
        chunk["instrument"].str.strip().str.upper()
        if "instrument" in chunk.columns
        else pd.Series(["MODIS" if modis else "VIIRS"] * n, index=chunk.index)
    )
    bright = _num(chunk["brightness" if modis else "bright_ti4"])
    t31_col = "bright_t31" if modis else "bright_ti5"
    t31 = _num(chunk[t31_col]) if t31_col in chunk.columns else pd.Series(np.nan, chunk.index)
    lat, lon, frp = _num(chunk["latitude"]), _num(chunk["longitude"]), _num(chunk["frp"])
    scan = _num(chunk["scan"]) if "scan" in chunk.columns else pd.Series(np.nan, chunk.index)
    track = _num(chunk["track"]) if "track" in chunk.columns else pd.Series(np.nan, chunk.index)
    hhmm = chunk["acq_time"].str.strip().str.replace(":", "", regex=False).str.zfill(4)
    when = pd.to_datetime(
        chunk["acq_date"].str.strip() + " " + hhmm,
        format="%Y-%m-%d %H%M",
        errors="coerce",
        utc=True,
    )
    conf_raw = chunk["confidence"].str.strip()
    conf_pct = _num(conf_raw) if modis else pd.Series(np.nan, chunk.index)
    conf_cls = (
        conf_raw.str.lower().map(CONFIDENCE_CLASSES)
        if not modis
        else pd.Series(None, chunk.index, dtype=object)
    )
    daynight = chunk["daynight"].str.strip().str.upper() if "daynight" in chunk.columns else None

    def sentinel(s: pd.Series) -> pd.Series:
        return s.isin(SENTINELS)

    checks: list[tuple[str, pd.Series, str]] = [
        ("latitude", lat.isna() | (lat.abs() > 90), "latitude missing or outside -90..90"),
        ("longitude", lon.isna() | (lon.abs() > 180), "longitude missing or outside -180..180"),
        ("acq_date", when.isna(), "acq_date/acq_time is not YYYY-MM-DD and HHMM (UTC)"),
        ("satellite", chunk["satellite"].str.strip() == "", "satellite is empty"),
        ("instrument", ~instrument.isin(["MODIS", "VIIRS"]), "instrument is not MODIS or VIIRS"),
        (
            "instrument",
            instrument != ("MODIS" if modis else "VIIRS"),
            "instrument does not match the brightness columns of the file",
        ),
        (
            "brightness",
            bright.isna() | sentinel(bright) | (bright <= 150) | (bright >= 1000),
            "brightness temperature missing or not a plausible kelvin value (150-1000 K)",
        ),
        (
            t31_col,
            sentinel(t31) | (t31 <= 150) | (t31 >= 1000),
            "brightness temperature not a plausible kelvin value (150-1000 K)",
        ),
        (
            "frp",
            frp.isna() | sentinel(frp) | (frp < 0) | (frp >= 100000),
            "fire radiative power missing, negative or a sentinel",
        ),
        ("scan", sentinel(scan) | (scan <= 0), "scan pixel size not positive"),
        ("track", sentinel(track) | (track <= 0), "track pixel size not positive"),
    ]
    if modis:
        checks.append(
            (
                "confidence",
                conf_pct.isna()
                | (conf_pct < 0)
                | (conf_pct > 100)
                | (conf_pct != conf_pct.round()),
                "MODIS confidence is not 0-100",
            )
        )
    else:
        checks.append(
            ("confidence", conf_cls.isna(), "VIIRS confidence is not low/nominal/high (l/n/h)")
        )
    if daynight is not None:
        checks.append(("daynight", ~daynight.isin(["D", "N", ""]), "daynight is not D or N"))
    bad = np.zeros(n, dtype=bool)
    problems: list[Problem] = []
    records: list[dict] | None = None  # raw rows, only built when a row is bad
    for column, mask, reason in checks:
        hit = mask.fillna(False).to_numpy() & ~bad
        if hit.any() and records is None:
            records = chunk.to_dict("records")
        for i in np.flatnonzero(hit):
            raw = json.dumps(records[i], ensure_ascii=False)
            problems.append(Problem(str(labels[i]), column, reason, raw))
        bad |= hit
    # bad rows may hold 50.5 or 1e9, which Int16 cannot take: they are dropped below anyway
    confidence_pct = (
        conf_pct.where(~bad).astype("Int16").to_numpy(dtype=object, na_value=None)
        if modis
        else [None] * n
    )
    frame = pd.DataFrame(
        {
            RECORD: labels,
            "satellite": chunk["satellite"].str.strip().to_numpy(),
            "instrument": instrument.to_numpy(),
            "acquired_at": list(when),
            "longitude": lon.round(5).to_numpy(),
            "latitude": lat.round(5).to_numpy(),
            "brightness_k": bright.to_numpy(),
            "bright_t31_k": t31.to_numpy(),
            "frp_mw": frp.to_numpy(),
            "confidence_pct": confidence_pct,
            "confidence_class": conf_cls.to_numpy(dtype=object),
            "scan": scan.to_numpy(),
            "track": track.to_numpy(),
            "version": chunk["version"].str.strip().to_numpy() if "version" in chunk else None,
            "daynight": (
                daynight.replace("", None).to_numpy(dtype=object) if daynight is not None else None
            ),
        }
    )[~bad].reset_index(drop=True)
    frame = frame.astype(object).where(frame.notna(), None)
    return frame, problems


def tie_to_villages(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
    """Give each hotspot of this ingest its nearest village within NEAREST_VILLAGE_KM.

    Distance is to the village polygon on the ellipsoid (0 inside the village). Hotspots far from
    every village keep NULL. Returns nothing to add to the loaded counts (rows were counted).
    """
    conn.execute(
        SQL("fire_nearest_village.sql"),
        {"ingest_id": ingest_id, "radius_km": NEAREST_VILLAGE_KM},
    )
    return {}
