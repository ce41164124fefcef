"""Forecast flash-flood warnings count what has already fallen, and satellite hotspots are
weighed (confidence, land cover, repeating heat), on the Mayang demo with hand-made data.

Every case runs in a transaction that is rolled back: the session database stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
import rasterio
from affine import Affine

from riskmap.geo.rules import run_rules

AT = datetime(2031, 7, 14, 10, 0, tzinfo=UTC)  # after every demo observation
H = timedelta(hours=1)


@pytest.fixture
def conn(db_url: str, mayang) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url) as c:
        c.execute("BEGIN")
        yield c
        c.rollback()


def a_village(conn: psycopg.Connection) -> tuple[str, str, float, float]:
    code, name, lon, lat = conn.execute(
        "SELECT code, name, ST_X(label_point), ST_Y(label_point) FROM admin_unit"
        " WHERE level = 'village' ORDER BY code LIMIT 1 OFFSET 17"
    ).fetchone()
    return code, name, lon, lat


def proposals_of(conn, rule_id: str) -> dict[str, object]:
    return {p.colour: p for p in run_rules(conn, AT) if p.rule_id == rule_id}


# -- 实况 + 预报 -----------------------------------------------------------------------------


def test_sixty_fallen_plus_twenty_forecast_reach_the_three_hour_indicator(conn) -> None:
    """The issue's village: 60 mm in the past two hours, 20 mm forecast for the next hour, a
    3-hour 立即转移 indicator of 75 mm: 60 + 20 = 80 ≥ 75, so the forecast rule says orange
    (准备转移) although 20 mm of forecast alone is far below 75."""
    code, name, _, _ = a_village(conn)
    conn.execute("DELETE FROM flash_flood_threshold WHERE village_code = %s", [code])
    dataset = conn.execute("SELECT id FROM dataset LIMIT 1").fetchone()[0]
    conn.execute(
        "INSERT INTO flash_flood_threshold (village_code, duration_h, prepare_mm, immediate_mm,"
        " dataset_id) VALUES (%s, 3, 65, 75, %s)",
        [code, dataset],
    )
    for start, mm in ((AT - 2 * H, 25.0), (AT - H, 35.0)):  # observed: 25 + 35 = 60 mm
        conn.execute(
            "INSERT INTO village_rain (village_code, product, valid_start, valid_end, issued_at,"
            " mean_mm, max_mm, coverage) VALUES (%s, 'qpe', %s, %s, %s, %s, %s, 1)",
            [code, start, start + H, start + H, mm, mm],
        )
    conn.execute(
        "INSERT INTO village_rain (village_code, product, valid_start, valid_end, issued_at,"
        " mean_mm, max_mm, coverage) VALUES (%s, 'qpf', %s, %s, %s, 20, 20, 1)",
        [code, AT, AT + H, AT - H / 2],
    )
    forecast = proposals_of(conn, "flash_flood.forecast")
    assert set(forecast) == {"orange"}, forecast
    p = forecast["orange"]
    assert p.village_codes == (code,)
    ev = p.evidence[code]
    assert (ev["win_3h"], ev["win_3h_observed"], ev["win_3h_forecast"]) == (80, 60, 20)
    assert ev["win_1h"] == 20  # the next hour alone: forecast only
    assert (
        f"{name}3小时累计雨量将达80毫米（已降60毫米，预报再降20毫米），"
        "达到立即转移临界雨量75毫米" in p.description_zh
    )
    assert "80 mm within 3 hours (60 mm fallen, 20 mm forecast)" in p.description_en
    assert "1 village" in p.headline_en and "1 villages" not in p.headline_en
    # the observed rule alone does not fire: 60 < 65 (准备转移 3 h)
    assert not proposals_of(conn, "flash_flood.observed")


# -- hotspots ---------------------------------------------------------------------------------


def put_hotspot(conn, lon, lat, when, *, sat="N", instrument="VIIRS", cls="high", pct=None):
    conn.execute(
        "INSERT INTO hotspot (satellite, instrument, acquired_at, longitude, latitude,"
        " brightness_k, confidence_pct, confidence_class) VALUES (%s, %s, %s, %s, %s, 330,"
        " %s, %s)",
        [sat, instrument, when, round(lon, 5), round(lat, 5), pct, cls],
    )


def put_cover(conn, tmp_path: Path, lon: float, lat: float, forest: float) -> None:
    """A 0.2° forest-fraction raster centred on the point, catalogued as the risk maps do."""
    path = tmp_path / f"forest-{forest}.tif"
    t = Affine(0.01, 0, lon - 0.1, 0, -0.01, lat + 0.1)
    with rasterio.open(
        path, "w", driver="GTiff", width=20, height=20, count=1, dtype="float32",
        crs="EPSG:4326", transform=t,
    ) as dst:  # fmt: skip
        dst.write(np.full((1, 20, 20), forest, dtype=np.float32))
    conn.execute(
        "INSERT INTO dataset (id, title, synthetic, source, licence, attribution, params)"
        " VALUES ('t-cover', 't', true, 't', 'CC0-1.0', 't', '{}') ON CONFLICT DO NOTHING"
    )
    conn.execute(
        "INSERT INTO raster_layer (id, kind, path, crs, width, height, transform, units, sha256,"
        " dataset_id, footprint) VALUES (%s, 'forest', %s, 'EPSG:4326', 20, 20, %s, 'fraction',"
        " repeat('0', 64), 't-cover', ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
        [f"t-{forest}", str(path), list(t)[:6], lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1],
    )


def fire_levels(conn, code: str) -> dict[str, str]:
    out = {}
    for p in run_rules(conn, AT):
        if p.rule_id in ("forest_fire.danger_hotspot", "fire.straw_burning") and (
            code in p.village_codes
        ):
            out[p.rule_id] = p.colour
    return out


def test_a_lone_low_confidence_detection_never_raises_red(conn) -> None:
    code, _, lon, lat = a_village(conn)
    put_hotspot(conn, lon, lat, AT - 2 * H, cls="low")
    assert fire_levels(conn, code) == {"forest_fire.danger_hotspot": "orange"}


def test_a_modis_detection_under_thirty_percent_is_low_confidence(conn) -> None:
    code, _, lon, lat = a_village(conn)
    put_hotspot(conn, lon, lat, AT - 2 * H, sat="T", instrument="MODIS", cls=None, pct=25)
    assert fire_levels(conn, code) == {"forest_fire.danger_hotspot": "orange"}


def test_a_confident_detection_on_forest_raises_red_and_says_what_was_seen(
    conn, tmp_path: Path
) -> None:
    code, name, lon, lat = a_village(conn)
    put_cover(conn, tmp_path, lon, lat, 0.9)
    put_hotspot(conn, lon, lat, datetime(2031, 7, 14, 5, 30, tzinfo=UTC), sat="N20", cls="high")
    p = {q.colour: q for q in run_rules(conn, AT) if q.rule_id == "forest_fire.danger_hotspot"}
    assert code in p["red"].village_codes
    # 05:30 UTC is 13:30 in Beijing; NOAA-20 carries VIIRS; high confidence; 0 km: inside
    text = p["red"].description_zh
    assert f"7月14日13时30分，NOAA-20卫星在{name}境内的林地监测到热点（高置信度）" in text
    assert "NOAA-20 (VIIRS)" in p["red"].description_en
    assert "—" not in text and "$" not in text


def test_two_low_confidence_detections_together_raise_red(conn) -> None:
    code, _, lon, lat = a_village(conn)
    put_hotspot(conn, lon, lat, AT - 2 * H, cls="low")
    put_hotspot(conn, lon + 0.002, lat, AT - 2 * H, cls="low")
    assert fire_levels(conn, code) == {"forest_fire.danger_hotspot": "red"}


def test_a_hotspot_on_farmland_is_straw_burning_not_forest_fire(conn, tmp_path: Path) -> None:
    code, _, lon, lat = a_village(conn)
    put_cover(conn, tmp_path, lon, lat, 0.0)
    put_hotspot(conn, lon, lat, AT - 2 * H, cls="nominal")
    assert fire_levels(conn, code) == {"fire.straw_burning": "yellow"}
    p = next(q for q in run_rules(conn, AT) if q.rule_id == "fire.straw_burning")
    assert "可能为秸秆焚烧" in p.description_zh and "中等置信度" in p.description_zh
    assert p.headline_zh.endswith("秸秆焚烧火点提示")


def test_heat_repeating_day_after_day_is_set_aside(conn) -> None:
    code, _, lon, lat = a_village(conn)
    for day in (1, 2, 3):  # the same spot seen on three earlier days: a factory's heat
        put_hotspot(conn, lon + 0.001, lat, AT - timedelta(days=day), cls="high")
    put_hotspot(conn, lon, lat, AT - 2 * H, cls="high")
    assert fire_levels(conn, code) == {}
    # two earlier days only: not yet recognised as persistent, the detection counts
    conn.execute("DELETE FROM hotspot WHERE acquired_at < %s", [AT - 2 * timedelta(days=1)])
    assert fire_levels(conn, code) == {"forest_fire.danger_hotspot": "red"}
