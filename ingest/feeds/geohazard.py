"""Geohazard feeds: hazard-point inventories, monitoring sensor readings, regional risk warnings.

Three kinds:

``hazard-points``
    隐患点 inventories as GeoJSON, GeoPackage or Shapefile, English or common Chinese column
    names, upserted into ``hazard_point`` (dataset ``ingest-geohazard``). A point without a
    village code gets the village that contains it.
``sensor-readings``
    Readings of the monitoring sensors in ``sensor`` (GNSS displacement, crack meters, slope rain
    gauges, tailings-dam phreatic line …) as CSV or JSON, converted to the sensor's unit and
    stored in ``sensor_obs``.
``geohazard-risk``
    Regional geohazard meteorological risk warning polygons (地质灾害气象风险预警, levels 一级 …
    四级) as GeoJSON, stored in ``geohazard_risk_area``.

The GeoJSON, time and CRS helpers here are shared with :mod:`ingest.feeds.fire`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from riskmap.geo.db.sqlfiles import load_sql
from riskmap.ingest.pipeline import (
    RECORD,
    Batch,
    Context,
    FeedReadError,
    Problem,
    TableLoad,
    register,
)

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
DATASET_ID = "ingest-geohazard"
SNIFF_BYTES = 256 * 1024  # properties may follow a long first geometry
CSV_CHUNK_ROWS = 50_000
SENTINELS = frozenset(
    {-999.0, -9999.0, -99999.0, -999999.0, 9999.0, 99999.0, 999999.0, -999.9, -9999.9}
)


def _sql(name: str) -> str:
    return load_sql("riskmap.ingest.sql", name)


# -- shared helpers: text, times, CRS, GeoJSON -----------------------------------------------------


def norm_key(name: object) -> str:
    """Column / property name folded for matching: trimmed, lower-case, ASCII parentheses."""
    text = str(name).strip().lower().replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", text)


def pick(props: dict[str, Any], aliases: tuple[str, ...]) -> tuple[str | None, Any]:
    """First present, non-empty value among ``aliases`` (already folded with :func:`norm_key`)."""
    for alias in aliases:
        if alias in props:
            value = props[alias]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if isinstance(value, str) and not value.strip():
                continue
            return alias, value
    return None, None


def parse_time(value: object, *, naive_tz: timezone = BEIJING) -> datetime:
    """An aware UTC datetime from ISO text (or a datetime); naive times are in ``naive_tz``.

    Chinese feeds give local Beijing time without a zone, so that is the default; raises
    ValueError with the text when it is not a time.
    """
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("empty time")
        m = re.match(r"^(\d{4})/(\d{1,2})/(\d{1,2})(.*)$", text)
        if m:
            text = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}{m[4]}"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=naive_tz)
    return dt.astimezone(UTC)


def transformer_for(crs: object, path: Path) -> Transformer | None:
    """Transformer to WGS 84 (None when already WGS 84); unknown CRS → FeedReadError.

    CGCS2000 (EPSG:4490) and its Gauss–Krüger projections (EPSG:4491–4554) are the usual cases;
    any CRS pyproj understands is accepted. Output is always lon/lat order.
    """
    try:
        source = CRS.from_user_input(crs)
    except CRSError as exc:
        raise FeedReadError(f"{path.name}: unknown coordinate reference system {crs!r}") from exc
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    return Transformer.from_crs(source, 4326, always_xy=True)


def to_wgs84(geoms: np.ndarray, transformer: Transformer | None) -> np.ndarray:
    """Geometries transformed to WGS 84 lon/lat (None stays None)."""
    if transformer is None:
        return geoms
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(*xy.T)))


def out_of_range(geom: shapely.Geometry) -> bool:
    """True when any coordinate is outside lon −180…180 / lat −90…90 or not finite."""
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all():
        return True
    return bool(((np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)).any())


def geom_hash(geom: shapely.Geometry) -> str:
    """md5 of the normalised WKB at 7 decimals: the same area drawn again hashes the same."""
    norm = shapely.normalize(shapely.set_precision(geom, 1e-7))
    return hashlib.md5(shapely.to_wkb(norm), usedforsecurity=False).hexdigest()


def read_text(path: Path) -> str:
    """Whole file as text (UTF-8 with or without BOM, then GB18030); empty → FeedReadError."""
    data = path.read_bytes()
    if not data.strip():
        raise FeedReadError(f"{path.name}: empty file")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise FeedReadError(f"{path.name}: neither UTF-8 nor GB18030 text")


@dataclass
class GeoFeature:
    """One GeoJSON feature: where it is in the file, its folded properties and raw geometry."""

    record: str
    props: dict[str, Any]
    geometry: dict | None
    raw: str


def read_geojson(path: Path) -> tuple[dict[str, Any], list[GeoFeature], Transformer | None]:
    """Top-level members (folded), features and the transformer to WGS 84 of a GeoJSON file.

    RFC 7946 GeoJSON is WGS 84; a legacy ``crs`` member (e.g. ``EPSG:4490``) is honoured.
    Raises FeedReadError when the file is not a GeoJSON Feature or FeatureCollection.
    """
    try:
        doc = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise FeedReadError(f"{path.name}: not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise FeedReadError(f"{path.name}: not a GeoJSON Feature or FeatureCollection")
    items = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(items, list):
        raise FeedReadError(f"{path.name}: 'features' is not a list")
    if not items:
        raise FeedReadError(f"{path.name}: no features")
    crs = doc.get("crs")
    transformer = None
    if isinstance(crs, dict):
        name = (crs.get("properties") or {}).get("name")
        if name:
            transformer = transformer_for(name, path)
    top = {norm_key(k): v for k, v in doc.items() if not isinstance(v, (list, dict))}
    top.update({norm_key(k): v for k, v in (doc.get("properties") or {}).items()})
    features = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            features.append(GeoFeature(f"feature {i}", {}, None, json.dumps(item)[:2000]))
            continue
        props = {norm_key(k): v for k, v in (item.get("properties") or {}).items()}
        if "id" in item and "id" not in props:
            props["id"] = item["id"]
        raw = json.dumps(item, ensure_ascii=False, default=str)[:2000]
        features.append(GeoFeature(f"feature {i}", props, item.get("geometry"), raw))
    return top, features, transformer


def feature_geometry(
    feature: GeoFeature, transformer: Transformer | None, want: str
) -> shapely.Geometry | Problem:
    """The feature's geometry in WGS 84 as ``want`` ('Point' or 'MultiPolygon') or a Problem."""
    if not feature.geometry:
        return Problem(feature.record, "geometry", "no geometry", feature.raw)
    try:
        geom = shapely.geometry.shape(feature.geometry)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        return Problem(feature.record, "geometry", f"malformed geometry: {exc}", feature.raw)
    return checked_geometry(geom, feature.record, transformer, want, feature.raw)


def checked_geometry(
    geom: shapely.Geometry | None,
    record: str,
    transformer: Transformer | None,
    want: str,
    raw: str | None = None,
) -> shapely.Geometry | Problem:
    """Validate and transform one geometry: type, emptiness, finiteness, validity, range."""
    if geom is None or shapely.is_empty(geom):
        return Problem(record, "geometry", "empty geometry", raw)
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        return Problem(record, "geometry", "coordinates are NaN or infinite", raw)
    if want == "Point" and geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if want == "MultiPolygon" and geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    if geom.geom_type != want:
        why = "" if shapely.is_valid(geom) else f" ({shapely.is_valid_reason(geom)})"
        return Problem(record, "geometry", f"expected a {want}, got a {geom.geom_type}{why}", raw)
    if not shapely.is_valid(geom):
        return Problem(
            record, "geometry", f"invalid geometry: {shapely.is_valid_reason(geom)}", raw
        )
    geom = to_wgs84(np.array([geom], dtype=object), transformer)[0]
    if out_of_range(geom):
        return Problem(
            record, "geometry", "coordinates outside lon -180..180 / lat -90..90 (wrong CRS?)", raw
        )
    if geom.geom_type == "MultiPolygon" and not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)  # reprojection can pinch a ring; keep polygons only
        geom = shapely.MultiPolygon(
            [p for part in getattr(geom, "geoms", [geom]) for p in _polygons(part)]
        )
    return geom


def _polygons(geom: shapely.Geometry) -> list[shapely.Polygon]:
    if geom.geom_type == "Polygon":
        return [geom]
    return [p for part in getattr(geom, "geoms", []) for p in _polygons(part)]


def read_head(path: Path, head: bytes, n: int = SNIFF_BYTES) -> str:
    """More of the file than the pipeline's 4 KiB head, for sniffing JSON property names."""
    if len(head) < 4096:
        data = head
    else:
        with path.open("rb") as fh:
            data = fh.read(n)
    return data.decode("utf-8", errors="ignore").lstrip("\ufeff \r\n\t")


def looks_like_geojson(text: str) -> bool:
    """A JSON object with a Feature type near the start."""
    return text.startswith("{") and re.search(r'"type"\s*:\s*"Feature', text) is not None


def has_key(text: str, *names: str) -> bool:
    """Whether any of ``names`` appears as a JSON object key in ``text``."""
    return any(re.search(r'"' + re.escape(n) + r'"\s*:', text, re.IGNORECASE) for n in names)


def ensure_dataset_load(dataset_id: str, title: str) -> TableLoad:
    """A one-row ``dataset`` load placed before entity rows so their foreign key holds."""
    frame = pd.DataFrame(
        [{"id": dataset_id, "title": title, "synthetic": False, "source": "riskmap ingest"}]
    )
    return TableLoad("dataset", frame, key=("id",))


# -- hazard points -----------------------------------------------------------------------------

KIND_ALIASES = ("kind", "type", "类型", "灾害类型", "隐患类型", "灾种")
KINDS = {
    "滑坡": "landslide",
    "崩塌": "collapse",
    "泥石流": "debris_flow",
    "地面塌陷": "subsidence",
    "地裂缝": "ground_fissure",
    "不稳定斜坡": "unstable_slope",
    "landslide": "landslide",
    "collapse": "collapse",
    "rockfall": "collapse",
    "debris_flow": "debris_flow",
    "debris flow": "debris_flow",
    "subsidence": "subsidence",
    "ground_fissure": "ground_fissure",
    "ground fissure": "ground_fissure",
    "unstable_slope": "unstable_slope",
    "unstable slope": "unstable_slope",
    "塌陷": "subsidence",
    "危岩": "collapse",
}
SCALES = {
    "小型": "small",
    "中型": "medium",
    "大型": "large",
    "特大型": "very_large",
    "small": "small",
    "medium": "medium",
    "large": "large",
    "very_large": "very_large",
    "very large": "very_large",
}
HP_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "统一编号", "编号", "隐患点编号", "hp_id"),
    "name": ("name", "名称", "隐患点名称", "隐患点名"),
    "kind": KIND_ALIASES,
    "scale": ("scale", "规模", "规模等级"),
    "threatened_people": ("threatened_people", "威胁人数", "threat_ppl", "people"),
    "threatened_households": ("threatened_households", "威胁户数", "threat_hh", "households"),
    "threatened_property": (
        "threatened_property",
        "威胁财产(万元)",
        "威胁财产",
        "威胁资产(万元)",
        "threat_prop",
        "property",
    ),
    "village_code": ("village_code", "行政区划代码", "村代码", "village", "村编码"),
    "warning_signal": ("warning_signal", "预警信号"),
    "evacuation_route": ("evacuation_route", "撤离路线"),
    "slope_deg": ("slope_deg", "坡度"),
}
HP_REQUIRED = ("id", "name", "kind", "scale", "threatened_people", "threatened_households")


class HazardPoints:
    """隐患点 inventories (GeoJSON, GeoPackage, Shapefile) → ``hazard_point``."""

    kind = "hazard-points"
    description = "geohazard hazard points (隐患点): GeoJSON, GeoPackage or Shapefile"

    def sniff(self, path: Path, head: bytes) -> bool:
        suffix = path.suffix.lower()
        if suffix in (".gpkg", ".shp"):
            return self._sniff_ogr(path)
        text = read_head(path, head)
        return (
            looks_like_geojson(text)
            and has_key(text, *KIND_ALIASES[:1], *KIND_ALIASES[2:])
            and has_key(text, "threatened_people", "威胁人数", "threatened_households", "威胁户数")
        )

    @staticmethod
    def _sniff_ogr(path: Path) -> bool:
        try:
            info = pyogrio.read_info(path)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError):
            return False  # GDAL cannot open it, so it is not ours
        fields = {norm_key(f) for f in info["fields"]}
        kind_ok = bool(fields & set(KIND_ALIASES))
        people = set(HP_FIELDS["threatened_people"]) | set(HP_FIELDS["threatened_households"])
        return kind_ok and bool(fields & people)

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Read features, map columns, check geometry and values, find villages."""
        records = list(self._records(path))
        rows, problems = [], []
        for record, props, geom, raw in records:
            if isinstance(geom, Problem):
                problems.append(geom)
                continue
            row = _hazard_row(record, props, raw)
            if isinstance(row, Problem):
                problems.append(row)
                continue
            rows.append({RECORD: record, **row, "geom": geom, "_raw": raw})
        problems.extend(_assign_villages(ctx, rows))
        rows = [r for r in rows if r.get("village_code")]
        for r in rows:
            r.pop("_raw")
        frame = pd.DataFrame(rows, columns=[RECORD, *HP_FIELDS, "geom"])
        frame["dataset_id"] = DATASET_ID
        frame = frame.dropna(axis=1, how="all")
        loads = [ensure_dataset_load(DATASET_ID, "Geohazard inventories loaded by ingest")]
        loads.append(TableLoad("hazard_point", frame, key=("id",), on_conflict="update"))
        return Batch(self.kind, loads, problems)

    def _records(self, path: Path) -> Iterator[tuple[str, dict, Any, str]]:
        if path.suffix.lower() in (".gpkg", ".shp"):
            yield from _ogr_records(path)
            return
        _top, features, transformer = read_geojson(path)
        for f in features:
            yield f.record, f.props, feature_geometry(f, transformer, "Point"), f.raw


def _ogr_records(path: Path) -> Iterator[tuple[str, dict, Any, str]]:
    """Features of a GeoPackage / Shapefile; a file without a CRS cannot be placed."""
    try:
        info = pyogrio.read_info(path)
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:
        raise FeedReadError(f"{path.name}: cannot be read by GDAL: {exc}") from exc
    if frame.empty:
        raise FeedReadError(f"{path.name}: no features")
    if not info.get("crs") or frame.crs is None:
        raise FeedReadError(
            f"{path.name}: no coordinate reference system (a Shapefile needs its .prj);"
            " expected e.g. EPSG:4490 (CGCS2000) or EPSG:4326"
        )
    transformer = transformer_for(frame.crs, path)
    props = frame.drop(columns=frame.geometry.name).rename(columns=norm_key)
    checked = []
    for i, geom in enumerate(frame.geometry.to_numpy(), start=1):
        checked.append(checked_geometry(geom, f"feature {i}", transformer, "Point"))
    bad_range = [g for g in checked if isinstance(g, Problem) and "wrong CRS" in g.reason]
    if len(bad_range) == len(checked):
        raise FeedReadError(
            f"{path.name}: no coordinate falls on Earth when read as {frame.crs.to_string()};"
            " the file's CRS is wrong"
        )
    for i, (row, geom) in enumerate(zip(props.to_dict("records"), checked, strict=True), start=1):
        raw = json.dumps(row, ensure_ascii=False, default=str)[:2000]
        if isinstance(geom, Problem):
            geom = Problem(geom.record, geom.field, geom.reason, raw)
        yield f"feature {i}", row, geom, raw


def _number(value: Any, record: str, field: str, raw: str, *, integer: bool) -> float | Problem:
    try:
        num = float(str(value).replace(",", "").strip())
    except ValueError:
        return Problem(record, field, f"not a number: {value!r}", raw)
    if not math.isfinite(num) or num < 0 or num in SENTINELS:
        return Problem(record, field, f"impossible value {value!r} (negative or sentinel)", raw)
    if integer and num != int(num):
        return Problem(record, field, f"not a whole number: {value!r}", raw)
    return int(num) if integer else num


def _hazard_row(record: str, props: dict, raw: str) -> dict | Problem:
    """One hazard_point row (without geometry and village) or the first problem found."""
    row: dict[str, Any] = {}
    for column, aliases in HP_FIELDS.items():
        _alias, value = pick(props, aliases)
        if value is None:
            if column in HP_REQUIRED:
                return Problem(record, column, f"missing {column} ({'/'.join(aliases[:3])})", raw)
            continue
        if column == "kind":
            mapped = KINDS.get(str(value).strip().lower())
            if mapped is None:
                return Problem(record, column, f"unknown hazard type {value!r}", raw)
            value = mapped
        elif column == "scale":
            mapped = SCALES.get(str(value).strip().lower())
            if mapped is None:
                return Problem(record, column, f"unknown scale {value!r} (小型…特大型)", raw)
            value = mapped
        elif column in (
            "threatened_people",
            "threatened_households",
            "threatened_property",
            "slope_deg",
        ):
            integer = column in ("threatened_people", "threatened_households")
            value = _number(value, record, column, raw, integer=integer)
            if isinstance(value, Problem):
                return value
        elif column == "village_code":
            value = str(value).strip().split(".")[0]
        else:
            value = str(value).strip()
        row[column] = value
    if row["threatened_households"] > row["threatened_people"]:
        return Problem(
            record,
            "threatened_households",
            "more threatened households than threatened people",
            raw,
        )
    return row


def _assign_villages(ctx: Context, rows: list[dict]) -> list[Problem]:
    """Check given village codes; give each point without one the village containing it."""
    problems: list[Problem] = []
    given = sorted({r["village_code"] for r in rows if r.get("village_code")})
    known = {c for (c,) in ctx.conn.execute(_sql("geohazard_known_villages.sql"), {"codes": given})}
    for r in rows:
        code = r.get("village_code")
        if code and code not in known:
            problems.append(
                Problem(r[RECORD], "village_code", f"unknown village code {code!r}", r["_raw"])
            )
            r["_drop"] = True
    missing = [r for r in rows if not r.get("village_code")]
    if missing:
        found = dict(
            ctx.conn.execute(
                _sql("geohazard_village_at.sql"),
                {
                    "n": list(range(len(missing))),
                    "lon": [r["geom"].x for r in missing],
                    "lat": [r["geom"].y for r in missing],
                },
            ).fetchall()
        )
        for i, r in enumerate(missing):
            if i in found:
                r["village_code"] = found[i]
                continue
            where = f"{r['geom'].x:.5f},{r['geom'].y:.5f}"
            problems.append(
                Problem(r[RECORD], "geometry", f"point {where} is outside every village", r["_raw"])
            )
    for r in rows:
        if r.pop("_drop", False):
            r["village_code"] = None
    return problems


# -- sensor readings ---------------------------------------------------------------------------

SENSOR_FIELDS: dict[str, tuple[str, ...]] = {
    "sensor_id": ("sensor_id", "sensor", "传感器编号", "设备编号", "监测点编号", "station_id"),
    "tm": ("tm", "time", "timestamp", "观测时间", "监测时间", "时间", "datetime"),
    "value": ("value", "监测值", "值", "观测值", "reading"),
    "unit": ("unit", "单位", "units"),
}
_LENGTH = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "米": 1.0, "厘米": 1e-2, "毫米": 1e-3}
_PER = {
    "s": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "天": 86400.0,
    "小时": 3600.0,
    "日": 86400.0,
}
NON_NEGATIVE_KINDS = ("rain_gauge", "gas")


def unit_dimension(unit: str) -> tuple[str, float] | None:
    """(dimension, factor to SI) for length and length-per-time units; None if unknown."""
    u = unit.strip().lower().replace(" ", "")
    if u in _LENGTH:
        return "length", _LENGTH[u]
    if "/" in u:
        num, den = u.split("/", 1)
        if num in _LENGTH and den in _PER:
            return "length/time", _LENGTH[num] / _PER[den]
    return None


def convert(value: float, unit: str, target: str) -> float | None:
    """``value`` in ``unit`` expressed in ``target`` (m ↔ mm, mm/d ↔ mm/h …); None if not
    convertible."""
    if unit.strip().lower() == target.strip().lower():
        return value
    a, b = unit_dimension(unit), unit_dimension(target)
    if a is None or b is None or a[0] != b[0]:
        return None
    return value * a[1] / b[1]


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
            for sid, kind, unit in ctx.conn.execute(_sql("geohazard_sensors.sql"), {"ids": ids}):
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


# -- regional risk warnings ----------------------------------------------------------------------

LEVEL_ALIASES = ("level", "预警等级", "风险等级", "等级", "warning_level", "risk_level")
FROM_ALIASES = ("valid_from", "起始时间", "开始时间", "生效时间", "onset", "start")
TO_ALIASES = ("valid_to", "结束时间", "截止时间", "失效时间", "expires", "end")
ISSUER_ALIASES = ("issuer", "发布单位", "发布机构", "sender")
ISSUED_ALIASES = ("issued_at", "发布时间", "issued", "sent")
DOC_ALIASES = ("doc_id", "document_id", "文号", "identifier")
_LEVEL_WORDS = {
    "一级": 1,
    "二级": 2,
    "三级": 3,
    "四级": 4,
    "红色": 1,
    "橙色": 2,
    "黄色": 3,
    "red": 1,
    "orange": 2,
    "yellow": 3,
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
}
FIRE_MARKERS = ("火险", "fire_danger", "fire-danger", "firedanger")


def risk_level(value: Any) -> int | None:
    """Level 1–4 from 1–4, '一级'…'四级', '红色'/'橙色'/'黄色' or 'red'/'orange'/'yellow'."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if value in (1, 2, 3, 4) else None
    text = str(value).strip().lower().removesuffix("预警").removesuffix("风险")
    return _LEVEL_WORDS.get(text)


class GeohazardRisk:
    """Regional geohazard meteorological risk warning polygons → ``geohazard_risk_area``."""

    kind = "geohazard-risk"
    description = "regional geohazard meteorological risk warning polygons (GeoJSON, levels 1-4)"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = read_head(path, head)
        if not looks_like_geojson(text) or any(m in text for m in FIRE_MARKERS):
            return False
        return (
            has_key(text, "level", "预警等级", "风险等级")
            and has_key(text, *FROM_ALIASES[:4])
            and has_key(text, *TO_ALIASES[:4])
        )

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Each feature: level, validity, issuer and a valid (multi)polygon."""
        top, features, transformer = read_geojson(path)
        rows, problems = [], []
        for f in features:
            out = _risk_row(f, top, transformer)
            (problems if isinstance(out, Problem) else rows).append(out)
        frame = pd.DataFrame(
            rows,
            columns=[
                RECORD,
                "doc_id",
                "issuer",
                "level",
                "valid_from",
                "valid_to",
                "issued_at",
                "geom",
                "geom_hash",
            ],
        )
        key = ("issuer", "issued_at", "level", "geom_hash")
        return Batch(
            self.kind,
            [TableLoad("geohazard_risk_area", frame, key=key)],
            problems,
            valid_from=frame["valid_from"].min() if rows else None,
            valid_to=frame["valid_to"].max() if rows else None,
            event={"most_severe_level": int(frame["level"].min())} if rows else {},
        )


def _risk_row(f: GeoFeature, top: dict, transformer: Transformer | None) -> dict | Problem:
    merged = {**top, **f.props}
    _a, raw_level = pick(f.props, LEVEL_ALIASES)
    if raw_level is None:
        return Problem(f.record, "level", "no level (level / 预警等级)", f.raw)
    level = risk_level(raw_level)
    if level is None:
        return Problem(
            f.record, "level", f"level {raw_level!r} is not 1-4 / 一级…四级 / 红橙黄", f.raw
        )
    times: dict[str, datetime] = {}
    for column, aliases in (
        ("valid_from", FROM_ALIASES),
        ("valid_to", TO_ALIASES),
        ("issued_at", ISSUED_ALIASES),
    ):
        _a, value = pick(merged, aliases)
        if value is None:
            if column == "issued_at":
                continue
            return Problem(f.record, column, f"no {column}", f.raw)
        try:
            times[column] = parse_time(value)
        except ValueError as exc:
            return Problem(f.record, column, str(exc), f.raw)
    if times["valid_to"] <= times["valid_from"]:
        return Problem(f.record, "valid_to", "valid_to is not after valid_from", f.raw)
    _a, issuer = pick(merged, ISSUER_ALIASES)
    if issuer is None:
        return Problem(f.record, "issuer", "no issuer (issuer / 发布单位)", f.raw)
    geom = feature_geometry(f, transformer, "MultiPolygon")
    if isinstance(geom, Problem):
        return geom
    _a, doc_id = pick(merged, DOC_ALIASES)
    return {
        RECORD: f.record,
        "doc_id": None if doc_id is None else str(doc_id),
        "issuer": str(issuer).strip(),
        "level": level,
        "valid_from": times["valid_from"],
        "valid_to": times["valid_to"],
        "issued_at": times.get("issued_at", times["valid_from"]),
        "geom": geom,
        "geom_hash": geom_hash(geom),
    }


register(HazardPoints())
register(SensorReadings())
register(GeohazardRisk())

__all__ = [
    "BEIJING",
    "GeoFeature",
    "GeohazardRisk",
    "HazardPoints",
    "SensorReadings",
    "checked_geometry",
    "convert",
    "feature_geometry",
    "geom_hash",
    "parse_time",
    "read_geojson",
    "risk_level",
]
