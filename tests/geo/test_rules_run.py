"""run_rules end to end: the default demo with the replayed storm, in a database of its own."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest

from riskmap.geo.rules import run_rules
from riskmap.geo.rules.inputs import intensity
from tests.conftest import ROOT

STORM = ROOT / "data" / "scenarios" / "storm-431226"
RAIN_RULES = {"rainstorm.observed", "flash_flood.observed"}


def by_rule(proposals):
    out: dict[str, dict[str, object]] = {}
    for p in proposals:
        out.setdefault(p.rule_id, {})[p.colour] = p
    return out


# The rainstorm rule's levels as written in rules/builtin/rainstorm.yaml and DOMAIN.md (CMA
# thresholds), highest first: (colour, window hours, mm).
RAINSTORM_LEVELS = (("red", 3, 100.0), ("orange", 3, 50.0), ("yellow", 6, 50.0), ("blue", 12, 50.0))


def brute_rain(conn: psycopg.Connection, at: datetime, hours: tuple[int, ...]) -> dict:
    """Observed rain of every village over (at - h, at] for each h, summed here from the hourly
    analysis rows of ``village_rain`` (the storm has one qpe row per village and hour) with
    plain Python: independent of the rules engine's array path and of village_rain_window()."""
    rows = conn.execute(
        "SELECT village_code, valid_start, valid_end, mean_mm FROM village_rain"
        " WHERE product = 'qpe' AND valid_start >= %s - make_interval(hours => %s)"
        " AND valid_end <= %s",
        [at, max(hours), at],
    ).fetchall()
    assert rows, "no hourly analyses before the peak"
    sums: dict[int, dict[str, float]] = {h: {} for h in hours}
    seen: set[tuple[str, datetime]] = set()
    for code, start, end, mm in rows:
        assert (end - start).total_seconds() == 3600 and (code, start) not in seen
        seen.add((code, start))
        for h in hours:
            if (at - start).total_seconds() <= h * 3600:
                sums[h][code] = sums[h].get(code, 0.0) + mm
    return sums


def test_storm_peak_fires_rain_rules(storm_url: str) -> None:
    at = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
    with psycopg.connect(storm_url) as conn:
        proposals = run_rules(conn, at)
        rain = brute_rain(conn, at, (1, 3, 6, 12))
        thresholds = {
            (r[0], r[1]): (r[2], r[3])
            for r in conn.execute(
                "SELECT village_code, duration_h, prepare_mm, immediate_mm"
                " FROM flash_flood_threshold"
            )
        }
    rain1, rain3 = rain[1], rain[3]
    # each village's level by brute force: the highest level whose threshold its rain reached
    expected: dict[str, set[str]] = {colour: set() for colour, _, _ in RAINSTORM_LEVELS}
    for code in rain[12]:
        for colour, hours, mm in RAINSTORM_LEVELS:
            value = rain[hours].get(code, 0.0)
            assert abs(value - mm) > 1e-3, (code, hours, value)  # no village on a knife edge
            if value >= mm:
                expected[colour].add(code)
                break
    assert len(rain[12]) == 222 and all(expected.values()), {k: len(v) for k, v in expected.items()}
    rules = by_rule(proposals)
    storm = rules["rainstorm.observed"]
    # two ways: every village the rule put at a level belongs there, and every village that
    # belongs at a level is in that level's proposal (none missing, none at another level)
    got = {colour: set(p.village_codes) for colour, p in storm.items()}
    assert got == expected
    red = storm["red"]
    assert red.review == "forecaster" and red.severity == "Extreme"
    for code in red.village_codes:
        assert red.evidence[code]["rain_3h"] == pytest.approx(rain3[code], abs=1e-3)
    # the highest level wins: a village is in one proposal of a rule only
    codes = [c for p in storm.values() for c in p.village_codes]
    assert len(codes) == len(set(codes))
    assert "红色" in red.headline_zh and "麻阳" in red.headline_zh
    assert f"{max(rain3[c] for c in red.village_codes):.1f}" in red.description_en

    flash = rules["flash_flood.observed"]
    assert flash, "no flash-flood proposals at the storm peak"
    for colour, p in flash.items():
        assert p.action == ("evacuate_now" if colour == "red" else "prepare_evacuation")
        assert p.review == ("auto" if colour == "red" else "forecaster")
        for code in p.village_codes:
            ev = p.evidence[code]
            if "rain_1h" in ev:
                assert ev["rain_1h"] == pytest.approx(rain1[code], abs=1e-3)
            if colour == "red" and "now_1h" in ev:
                assert ev["now_1h"] == thresholds[(code, 1)][1]
    # every red flash-flood village has a duration over its 立即转移 indicator
    for ev in flash.get("red", type("E", (), {"evidence": {}})).evidence.values():
        assert any(ev.get(f"rain_{d}h", -1) >= ev.get(f"now_{d}h", np.inf) for d in (1, 3, 6)), ev


def test_before_the_storm_no_rain_rule_fires(storm_url: str) -> None:
    at = datetime(2026, 7, 14, 0, 30, tzinfo=UTC)
    with psycopg.connect(storm_url) as conn:
        proposals = run_rules(conn, at)
    assert not [p for p in proposals if p.rule_id in RAIN_RULES]


def test_hydrology_and_geohazard_during_the_storm(storm_url: str) -> None:
    at = datetime(2026, 7, 14, 12, 0, tzinfo=UTC)
    with psycopg.connect(storm_url) as conn:
        rules = by_rule(run_rules(conn, at))
        over = conn.execute(
            """SELECT DISTINCT sv.village_code FROM station_village sv
               JOIN river_indicator i USING (stcd)
               JOIN LATERAL (SELECT z FROM river_obs o WHERE o.stcd = sv.stcd AND o.tm <= %s
                             ORDER BY tm DESC LIMIT 1) o ON true
               WHERE sv.relation = 'downstream' AND o.z > i.wrz""",
            [at],
        ).fetchall()
        people = dict(
            conn.execute(
                """SELECT p.village_code, sum(p.threatened_people) FROM hazard_point p
                   JOIN geohazard_risk_area a ON ST_Intersects(a.geom, p.geom) AND a.level = 2
                   GROUP BY 1"""
            ).fetchall()
        )
    river = {c for p in rules.get("river.stage", {}).values() for c in p.village_codes}
    assert river == {r[0] for r in over}
    geo = rules.get("geohazard.regional_risk", {})
    assert geo, "no geohazard proposals while the risk areas are active"
    for p in geo.values():
        for code in p.village_codes:
            assert p.evidence[code]["risk"] in (1.0, 2.0, 3.0)
    for code in geo.get("orange", type("E", (), {"village_codes": ()})).village_codes:
        assert geo["orange"].evidence[code]["risk"] == 2.0
        assert code in people


def test_earthquake_intensity_relation() -> None:
    # M 6 at 10 km: strong shaking near the epicentre, fading with distance
    near, far = intensity(np.array([6.0, 6.0]), np.array([5.0, 300.0]), "eastern")
    assert near >= 7 and far <= 4
    assert intensity(np.array([7.0]), np.array([20.0]), "eastern")[0] > near - 1
