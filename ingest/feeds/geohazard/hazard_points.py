"""隐患点 inventories (GeoJSON, GeoPackage, Shapefile) → ``hazard_point``.

Counties keep their hazard-point registers in whatever GIS format and column language they
have; this maps those columns onto one table, checks the counts, and gives each point its
village (by code or by location).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import pyogrio.errors

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.ingest.batch import RECORD, Batch, Context, FeedReadError, Problem, TableLoad
from riskmap.ingest.feeds.features.crs import transformer_for
from riskmap.ingest.feeds.features.fields import SENTINELS, norm_key, pick
from riskmap.ingest.feeds.features.geojson import feature_geometry, read_geojson
from riskmap.ingest.feeds.features.geometry import checked_geometry
from riskmap.ingest.feeds.features.sniff import has_key, looks_like_geojson, read_head

SQL = SqlFiles("riskmap.ingest.sql")
DATASET_ID = "ingest-geohazard"

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
            return _is_what_it_says(path, head) and self._sniff_ogr(path)
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


# GDAL opens a file by its content, not its name: an OGR virtual dataset (XML) named *.gpkg
# would read whatever file or URL it names. Only the formats the names promise are opened.
OGR_MAGIC = {".gpkg": b"SQLite format 3\x00", ".shp": b"\x00\x00\x27\x0a"}


def _is_what_it_says(path: Path, head: bytes) -> bool:
    """Whether the file starts as a GeoPackage (SQLite) or a Shapefile (file code 9994)."""
    return head.startswith(OGR_MAGIC[path.suffix.lower()])


def _ogr_records(path: Path) -> Iterator[tuple[str, dict, Any, str]]:
    """Features of a GeoPackage / Shapefile; a file without a CRS cannot be placed."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if not _is_what_it_says(path, head):
        raise FeedReadError(
            f"{path.name}: not a {'GeoPackage' if path.suffix.lower() == '.gpkg' else 'Shapefile'}"
            " (the file does not start as one); refused unopened"
        )
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
    known_rows = SQL.rows(ctx.conn, "geohazard_known_villages.sql", {"codes": given}, shape="tuple")
    known = {c for (c,) in known_rows}
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
            SQL.rows(
                ctx.conn,
                "geohazard_village_at.sql",
                {
                    "n": list(range(len(missing))),
                    "lon": [r["geom"].x for r in missing],
                    "lat": [r["geom"].y for r in missing],
                },
                shape="tuple",
            )
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


def ensure_dataset_load(dataset_id: str, title: str) -> TableLoad:
    """A one-row ``dataset`` load placed before entity rows so their foreign key holds."""
    frame = pd.DataFrame(
        [{"id": dataset_id, "title": title, "synthetic": False, "source": "riskmap ingest"}]
    )
    return TableLoad("dataset", frame, key=("id",))
