"""Regional geohazard meteorological risk warnings (地质灾害气象风险预警) → ``geohazard_risk_area``.

Provinces publish these as GeoJSON polygons with a level (一级 … 四级 or a colour) and a validity
window; this checks each polygon and its times so the rules can match villages against it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pyproj import Transformer

from riskmap.ingest.batch import RECORD, Batch, Context, Problem, TableLoad
from riskmap.ingest.feeds.features.fields import parse_time, pick
from riskmap.ingest.feeds.features.geojson import GeoFeature, feature_geometry, read_geojson
from riskmap.ingest.feeds.features.geometry import geom_hash
from riskmap.ingest.feeds.features.sniff import (
    FIRE_MARKERS,
    has_key,
    looks_like_geojson,
    read_head,
)

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
