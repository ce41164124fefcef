"""Forest-fire danger ratings, level 1 (low) … 5 (extreme), per area → ``fire_danger``.

Ratings come as CSV ``code,level,valid_from,valid_to[,issuer]`` (the area's outline is taken
from ``admin_unit`` in the database) or as GeoJSON polygons with a fire-danger level property;
both become one row per area and validity window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.ingest.batch import RECORD, Batch, Context, FeedReadError, Problem, TableLoad
from riskmap.ingest.feeds.features.fields import norm_key, parse_time, pick
from riskmap.ingest.feeds.features.geojson import GeoFeature, feature_geometry, read_geojson
from riskmap.ingest.feeds.features.geometry import geom_hash
from riskmap.ingest.feeds.features.sniff import (
    FIRE_MARKERS,
    csv_header,
    looks_like_geojson,
    read_head,
)

SQL = SqlFiles("riskmap.ingest.sql")
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
        cols = csv_header(path, head)
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
        known_rows = SQL.rows(ctx.conn, "fire_known_areas.sql", {"codes": codes}, shape="tuple")
        known = {c for (c,) in known_rows}
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
    conn.execute(SQL("fire_danger_geometry.sql"), {"ingest_id": ingest_id})
    return {}
