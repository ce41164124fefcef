"""Forest-fire feeds: NASA FIRMS satellite hotspots and fire-danger ratings.

``hotspots``
    FIRMS active-fire CSV, MODIS (``brightness``, ``bright_t31``, confidence 0–100) or VIIRS
    (``bright_ti4``, ``bright_ti5``, confidence low/nominal/high or l/n/h), with or without the
    ``instrument`` column, ``acq_time`` HHMM padded or not; times are UTC. Stored in ``hotspot``;
    after loading, each new hotspot is tied to the nearest village within
    :data:`NEAREST_VILLAGE_KM` (the ground check starts from that village).
``fire-danger``
    Fire-danger weather ratings, level 1 (low) … 5 (extreme), per area: CSV
    ``code,level,valid_from,valid_to[,issuer]`` (geometry from ``admin_unit``) or GeoJSON with a
    fire-danger level property. Stored in ``fire_danger``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from riskmap.geo.db.sqlfiles import load_sql
from riskmap.ingest.feeds.geohazard import (
    FIRE_MARKERS,
    GeoFeature,
    feature_geometry,
    geom_hash,
    looks_like_geojson,
    norm_key,
    parse_time,
    pick,
    read_geojson,
    read_head,
)
from riskmap.ingest.pipeline import (
    RECORD,
    Batch,
    Context,
    FeedReadError,
    Problem,
    TableLoad,
    register,
)

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


def _sql(name: str) -> str:
    return load_sql("riskmap.ingest.sql", name)


def _header(path: Path, head: bytes) -> list[str]:
    line = head.decode("utf-8", errors="ignore").lstrip("\ufeff").split("\n", 1)[0]
    return [norm_key(c) for c in line.strip().split(",")]


# -- hotspots ------------------------------------------------------------------------------------


class Hotspots:
    """NASA FIRMS active-fire CSV (MODIS or VIIRS) → ``hotspot``."""

    kind = "hotspots"
    description = "NASA FIRMS active fire CSV (MODIS C6.1 or VIIRS 375 m)"

    def sniff(self, path: Path, head: bytes) -> bool:
        cols = set(_header(path, head))
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
        )
        line = 2
        seen = False
        for chunk in reader:
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
    except pd.errors.EmptyDataError as exc:
        raise FeedReadError(f"{path.name}: empty file") from exc


def _check_firms_columns(path: Path, columns: pd.Index) -> None:
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
            "confidence_pct": conf_pct.astype("Int16").to_numpy() if modis else [None] * n,
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
        _sql("fire_nearest_village.sql"),
        {"ingest_id": ingest_id, "radius_km": NEAREST_VILLAGE_KM},
    )
    return {}


# -- fire danger -----------------------------------------------------------------------------------

DANGER_LEVEL_ALIASES = ("fire_danger_level", "火险等级", "森林火险等级", "level", "等级")
DANGER_WORDS = {
    "一级": 1,
    "二级": 2,
    "三级": 3,
    "四级": 4,
    "五级": 5,
    "低": 1,
    "较低": 2,
    "较高": 3,
    "高": 4,
    "极高": 5,
    "green": 1,
    "blue": 2,
    "yellow": 3,
    "orange": 4,
    "red": 5,
    "绿色": 1,
    "蓝色": 2,
    "黄色": 3,
    "橙色": 4,
    "红色": 5,
}
CODE_ALIASES = ("code", "area_code", "行政区划代码", "adcode")
ISSUER_ALIASES = ("issuer", "发布单位", "发布机构")
FROM_ALIASES = ("valid_from", "起始时间", "开始时间", "生效时间")
TO_ALIASES = ("valid_to", "结束时间", "截止时间", "失效时间")
DANGER_COLUMNS = [
    RECORD,
    "area_code",
    "level",
    "valid_from",
    "valid_to",
    "issuer",
    "area_key",
    "geom",
]


def danger_level(value: Any) -> int | None:
    """Level 1–5 from a number or a Chinese / colour word (一级…五级, 低…极高, 绿…红)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if value in (1, 2, 3, 4, 5) else None
    text = str(value).strip().lower().removesuffix("火险")
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 5 else None
    return DANGER_WORDS.get(text)


class FireDanger:
    """Forest-fire danger ratings (CSV by admin code, or GeoJSON polygons) → ``fire_danger``."""

    kind = "fire-danger"
    description = (
        "forest fire danger rating, level 1-5 (CSV code,level,valid_from,valid_to or GeoJSON)"
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        cols = _header(path, head)
        if cols[:4] == ["code", "level", "valid_from", "valid_to"]:
            return True
        text = read_head(path, head)
        return looks_like_geojson(text) and any(m in text for m in FIRE_MARKERS)

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Rows by admin code (checked against admin_unit) or GeoJSON polygons."""
        with path.open("rb") as fh:
            head = fh.read(64).decode("utf-8", errors="ignore").lstrip("\ufeff \r\n\t")
        if head.startswith("{"):
            rows, problems = self._geojson(path)
        else:
            rows, problems = self._csv(path)
        codes = sorted({r["area_code"] for r in rows if r["area_code"]})
        known = {c for (c,) in ctx.conn.execute(_sql("fire_known_areas.sql"), {"codes": codes})}
        good = []
        for r in rows:
            if r["area_code"] and r["area_code"] not in known:
                problems.append(
                    Problem(
                        r[RECORD], "code", f"unknown admin code {r['area_code']!r}", r.pop("_raw")
                    )
                )
                continue
            r.pop("_raw")
            good.append(r)
        frame = pd.DataFrame(good, columns=DANGER_COLUMNS)
        frame = frame.astype(object).where(frame.notna(), None)
        return Batch(
            self.kind,
            [TableLoad("fire_danger", frame, key=("area_key", "valid_from", "valid_to", "issuer"))],
            problems,
            valid_from=min((r["valid_from"] for r in good), default=None),
            valid_to=max((r["valid_to"] for r in good), default=None),
            after_load=_danger_geometry,
        )

    @staticmethod
    def _csv(path: Path) -> tuple[list[dict], list[Problem]]:
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FeedReadError(f"{path.name}: not UTF-8 text ({exc})") from exc
        lines = text.splitlines()
        if len([ln for ln in lines if ln.strip()]) < 2:
            raise FeedReadError(f"{path.name}: empty file (no ratings)")
        header = [norm_key(c) for c in lines[0].split(",")]
        rows, problems = [], []
        for i, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            values = [v.strip() for v in line.split(",")]
            props = dict(zip(header, values, strict=False))
            out = _danger_row(f"line {i}", props, None, line)
            (problems if isinstance(out, Problem) else rows).append(out)
        return rows, problems

    @staticmethod
    def _geojson(path: Path) -> tuple[list[dict], list[Problem]]:
        top, features, transformer = read_geojson(path)
        rows, problems = [], []
        for f in features:
            geom = feature_geometry(f, transformer, "MultiPolygon") if f.geometry else None
            if isinstance(geom, Problem):
                problems.append(geom)
                continue
            out = _danger_row(f.record, {**top, **f.props}, geom, f.raw, feature=f)
            (problems if isinstance(out, Problem) else rows).append(out)
        return rows, problems


def _danger_row(
    record: str, props: dict, geom: Any, raw: str, *, feature: GeoFeature | None = None
) -> dict | Problem:
    own = feature.props if feature is not None else props
    _a, raw_level = pick(own, DANGER_LEVEL_ALIASES)
    level = None if raw_level is None else danger_level(raw_level)
    if level is None:
        return Problem(record, "level", f"fire danger level {raw_level!r} is not 1-5", raw)
    times = {}
    for column, aliases in (("valid_from", FROM_ALIASES), ("valid_to", TO_ALIASES)):
        _a, value = pick(props, aliases)
        try:
            times[column] = parse_time(value if value is not None else "")
        except ValueError as exc:
            return Problem(record, column, str(exc), raw)
    if times["valid_to"] <= times["valid_from"]:
        return Problem(record, "valid_to", "valid_to is not after valid_from", raw)
    _a, code = pick(own, CODE_ALIASES)
    code = None if code is None else str(code).strip().split(".")[0]
    if code is not None and not (code.isdigit() and len(code) in (6, 9, 12)):
        return Problem(record, "code", f"{code!r} is not a 6, 9 or 12-digit admin code", raw)
    if code is None and geom is None:
        return Problem(record, "code", "neither an admin code nor a geometry", raw)
    _a, issuer = pick(props, ISSUER_ALIASES)
    return {
        RECORD: record,
        "area_code": code,
        "level": level,
        "valid_from": times["valid_from"],
        "valid_to": times["valid_to"],
        "issuer": None if issuer is None else str(issuer).strip(),
        "area_key": code if code is not None else geom_hash(geom),
        "geom": geom,
        "_raw": raw,
    }


def _danger_geometry(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
    """Ratings given by code take the admin unit's outline (kept in the database, not Python)."""
    conn.execute(_sql("fire_danger_geometry.sql"), {"ingest_id": ingest_id})
    return {}


register(Hotspots())
register(FireDanger())

__all__ = ["NEAREST_VILLAGE_KM", "FireDanger", "Hotspots", "danger_level", "tie_to_villages"]
