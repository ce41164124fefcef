"""Every built-in rule's texts, at every level, with full and with missing inputs.

Rendered from hand-made evidence (no database): no placeholder, None, dash or nan is ever left,
no ASCII space sits next to Chinese or full-width punctuation, the counts are the area's,
English plurals agree, and the CAP responseType agrees with what the instruction asks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest

from riskmap.geo.rules.load import load_rules
from riskmap.geo.rules.render import TextRenderer
from riskmap.geo.rules.villages import Villages
from riskmap.geo.warnings.cap import response_type

AT = datetime(2026, 7, 14, 2, 0, tzinfo=UTC)  # 10时 in Beijing
RULES = {c.rule.id: c for c in load_rules([])}

# hand-written: the responseType each rule level must carry
RESPONSE = {
    ("flash_flood.observed", "orange"): "Prepare", ("flash_flood.observed", "red"): "Evacuate",
    ("flash_flood.forecast", "yellow"): "Monitor", ("flash_flood.forecast", "orange"): "Prepare",
    ("rainstorm.observed", "blue"): "Monitor", ("rainstorm.observed", "yellow"): "Monitor",
    ("rainstorm.observed", "orange"): "Prepare", ("rainstorm.observed", "red"): "Prepare",
    ("geohazard.regional_risk", "yellow"): "Prepare",
    ("geohazard.regional_risk", "orange"): "Prepare",
    ("geohazard.regional_risk", "red"): "Evacuate",
    ("geohazard.sensor_alarm", "orange"): "Assess", ("geohazard.sensor_alarm", "red"): "Evacuate",
    ("river.stage", "yellow"): "Prepare", ("river.stage", "orange"): "Prepare",
    ("river.stage", "red"): "Evacuate",
    ("reservoir.level", "yellow"): "Prepare", ("reservoir.level", "orange"): "Prepare",
    ("reservoir.level", "red"): "Evacuate",
    ("forest_fire.danger_hotspot", "orange"): "Avoid",
    ("forest_fire.danger_hotspot", "red"): "Avoid",
    ("fire.straw_burning", "yellow"): "Assess",
    ("earthquake.intensity", "yellow"): "Assess", ("earthquake.intensity", "orange"): "Assess",
    ("earthquake.intensity", "red"): "Assess",
    ("upstream.cap_relay", "blue"): "Monitor", ("upstream.cap_relay", "yellow"): "Monitor",
    ("upstream.cap_relay", "orange"): "Monitor", ("upstream.cap_relay", "red"): "Monitor",
}  # fmt: skip

# hand-made full inputs of one village per rule (every variable and label present)
FULL = {
    "flash_flood.observed": {
        "rain_1h": 30, "rain_3h": 90, "rain_6h": 95, "prep_1h": 44, "prep_3h": 68,
        "prep_6h": 84, "now_1h": 55, "now_3h": 85, "now_6h": 105,
    },
    "flash_flood.forecast": {
        "win_1h": 20, "win_1h_observed": 0, "win_1h_forecast": 20, "win_3h": 80,
        "win_3h_observed": 60, "win_3h_forecast": 20, "win_6h": 85, "win_6h_observed": 65,
        "win_6h_forecast": 20, "prep_1h": 44, "prep_3h": 60, "prep_6h": 84, "now_1h": 55,
        "now_3h": 75, "now_6h": 105,
    },
    "rainstorm.observed": {"rain_3h": 112.4, "rain_6h": 130, "rain_12h": 150},
    "geohazard.regional_risk": {"risk": 1, "risk_people": 40, "risk_households": 12,
                                "risk_points": 2},
    "geohazard.sensor_alarm": {"sensors": 2, "sensors_ratio": 1.8},
    "river.stage": {
        "river": 1.2, "river_over_warning": 1, "river_over_alarm": 1, "river_over_guarantee": 1,
        "river_z": 108.6, "river_wrz": 105, "river_grz": 108, "river_station": "61234500",
        "river_station_name": "麻阳", "river_river": "锦江",
    },
    "reservoir.level": {
        "res": 0.8, "res_over_limit": 1, "res_over_design": 1, "res_over_check": 1,
        "res_rz": 236.8, "res_limit": 236, "res_station": "61299000",
        "res_station_name": "长潭水库",
    },
    "forest_fire.danger_hotspot": {
        "danger": 5, "hotspot_km": 0.6, "hotspot_km_count": 1, "hotspot_km_confident": 1,
        "hotspot_km_set_aside": 1, "hotspot_km_satellite": "NOAA-20卫星",
        "hotspot_km_satellite_en": "NOAA-20 (VIIRS)", "hotspot_km_time": "7月13日13时30分",
        "hotspot_km_time_en": "13:30 on 13 July (Beijing time)",
        "hotspot_km_confidence": "高置信度", "hotspot_km_confidence_en": "high confidence",
    },
    "fire.straw_burning": {
        "farm_km": 1.2, "farm_km_count": 1, "farm_km_confident": 1,
        "farm_km_satellite": "Suomi NPP卫星", "farm_km_satellite_en": "Suomi NPP (VIIRS)",
        "farm_km_time": "7月13日13时", "farm_km_time_en": "13:00 on 13 July (Beijing time)",
        "farm_km_confidence": "中等置信度", "farm_km_confidence_en": "nominal confidence",
    },
    "earthquake.intensity": {"intensity": 8, "intensity_magnitude": 6.1,
                             "intensity_distance_km": 12},
    "upstream.cap_relay": {"cap": 4, "cap_event": "暴雨", "cap_event_en": "Rainstorm",
                           "cap_issuer": "麻阳苗族自治县气象台",
                           "cap_headline": "麻阳苗族自治县气象台发布暴雨红色预警信号"},
}  # fmt: skip
# with missing inputs: what the village still has (the rest is NULL, as a feed gap leaves it)
MISSING = {
    "flash_flood.observed": {"rain_3h": 90, "now_3h": 85, "prep_3h": 68},
    "flash_flood.forecast": {"win_3h": 80, "now_3h": 75, "prep_3h": 60},
    "rainstorm.observed": {"rain_3h": 112.4},
    "geohazard.regional_risk": {"risk": 1},
    "geohazard.sensor_alarm": {"sensors": 1},
    "river.stage": {"river_z": 108.6, "river_wrz": 105, "river_grz": 108,
                    "river_station": "61234500"},
    "reservoir.level": {"res_rz": 236.8, "res_limit": 236},
    "forest_fire.danger_hotspot": {"hotspot_km": 0.6},  # no danger rating, no satellite name
    "fire.straw_burning": {"farm_km": 1.2},
    "earthquake.intensity": {"intensity": 8},
    "upstream.cap_relay": {"cap": 4},
}  # fmt: skip
CASES = [(rid, colour) for rid, c in RULES.items() for colour in c.rule.levels]
WIDE = r"[\u3000-\u303f\uff00-\uffef\u4e00-\u9fff]"


def villages(n: int) -> Villages:
    codes = np.array([f"431226{100 + i:03d}{200 + i:03d}" for i in range(n)])
    names = np.array([f"第{i + 1}村" for i in range(n)], dtype=object)
    return Villages(codes, names, np.array(["麻阳苗族自治县"] * n, dtype=object))


def render(rule_id: str, colour: str, inputs: dict, n: int) -> dict[str, str]:
    vs = villages(n)
    ev = {c: dict(inputs, level=colour) for c in vs.codes.tolist()}
    return TextRenderer(RULES[rule_id], colour, vs, AT)(vs.codes.tolist(), ev)


def test_every_builtin_rule_level_is_in_the_tables() -> None:
    assert set(CASES) == set(RESPONSE) and set(RULES) == set(FULL) == set(MISSING)


@pytest.mark.parametrize("inputs", ["full", "missing"])
@pytest.mark.parametrize("n", [1, 12])
@pytest.mark.parametrize(("rule_id", "colour"), CASES)
def test_texts_read_right(rule_id: str, colour: str, n: int, inputs: str) -> None:
    given = (FULL if inputs == "full" else MISSING)[rule_id]
    texts = render(rule_id, colour, given, n)
    for field, text in texts.items():
        assert text.strip(), f"{field} is empty"
        for bad in ("$", "None", "nan", "—", "{", "}", "  "):
            assert bad not in text, (field, bad, text)
    for field in ("headline_zh", "description_zh", "instruction_zh", "event_zh"):
        t = texts[field]
        assert not re.search(rf"\s{WIDE}|{WIDE}\s", t), (field, t)
        assert "个村" not in t or (f"等{n}个村" in t if n > 10 else True)
    # the area's count in Chinese (names spelled out up to ten, then 等N个村)
    zh = texts["headline_zh"] + texts["description_zh"]
    counts = [int(x) for x in re.findall(r"等(\d+)个村", zh)]
    assert all(c == n for c in counts), zh
    en = " ".join(texts.values())
    assert "1 villages" not in en and not re.search(r"\b(?!1\b)\d+ village\b", en), en
    if "village" in texts["headline_en"]:
        assert ("1 village" if n == 1 else f"{n} villages") in texts["headline_en"]
    # responseType from the rule level agrees with what the instruction asks
    level = RULES[rule_id].rule.levels[colour]
    extra = {"response_type": level.response} if level.response else {}
    got = response_type(level.action, extra)
    assert got == RESPONSE[(rule_id, colour)]
    ins = texts["instruction_zh"]
    asks_now = bool(re.search(r"立即[^，。]*(转移|撤离)", ins))
    asks_prepare = "转移准备" in ins or "准备转移" in ins
    assert asks_now == (got == "Evacuate"), (got, ins)
    assert asks_prepare == (got == "Prepare"), (got, ins)
    if got in ("Monitor", "Assess", "Avoid"):
        assert "转移" not in ins and "撤离" not in ins, ins


def test_flash_flood_says_each_village_own_numbers_and_the_counts_per_level() -> None:
    """Twelve villages: the worst is quoted against ITS OWN threshold and duration, and the
    description counts villages at each action level (hand-made numbers)."""
    vs = villages(12)
    codes = vs.codes.tolist()
    ev = {c: {"rain_1h": 20, "prep_1h": 44, "now_1h": 55, "level": "orange",
              "rain_3h": 70, "prep_3h": 68, "now_3h": 85} for c in codes}  # fmt: skip
    # village 5: 1-hour rain over ITS 1-hour 立即转移 (60 ≥ 50, ratio 1.2)
    ev[codes[4]] = {"rain_1h": 60, "now_1h": 50, "prep_1h": 40, "level": "red"}
    # village 9: the real trigger is a 3-hour sum (102 ≥ 85, ratio 1.2), its 1 h is modest
    ev[codes[8]] = {"rain_1h": 30, "now_1h": 70, "rain_3h": 110.5, "now_3h": 85,
                    "prep_3h": 68, "level": "red"}  # fmt: skip
    t = TextRenderer(RULES["flash_flood.observed"], "red", vs, AT)(codes, ev)
    assert t["headline_zh"] == "麻阳苗族自治县山洪灾害立即转移预警"
    assert t["headline_en"] == "Flash flood: evacuate now (12 villages)"
    d = t["description_zh"]
    assert d.startswith("截至7月14日10时，第9村、第5村、第1村")  # worst first
    assert "等12个村降雨已达到山洪灾害临界雨量" in d
    assert "其中2个村达到立即转移指标，10个村达到准备转移指标" in d
    assert "第9村3小时降雨110.5毫米，达到立即转移临界雨量85毫米" in d  # ratio 1.3
    assert "第5村1小时降雨60毫米，达到立即转移临界雨量50毫米" in d
    assert "第1村3小时降雨70毫米，达到准备转移临界雨量68毫米" in d
    assert (
        "2 villages at the evacuate-now level and 10 villages at the prepare level"
        in (t["description_en"])
    )


def test_relay_keeps_the_source_event_and_issuer() -> None:
    t = render("upstream.cap_relay", "red", FULL["upstream.cap_relay"], 12)
    assert t["headline_zh"] == "转发：麻阳苗族自治县气象台发布暴雨红色预警信号"
    assert t["event_zh"] == "暴雨" and t["event_en"] == "Rainstorm"
    assert t["headline_en"] == "Relayed: Rainstorm red warning signal from 麻阳苗族自治县气象台"


def test_missing_danger_rating_chooses_another_sentence() -> None:
    t = render("forest_fire.danger_hotspot", "orange", MISSING["forest_fire.danger_hotspot"], 3)
    assert "火险" not in t["description_zh"] and "级" not in t["description_zh"]
    assert "附近林地发现卫星热点" in t["description_zh"]


def test_river_and_reservoir_name_the_station() -> None:
    r = render("river.stage", "red", FULL["river.stage"], 2)
    assert "麻阳站水位108.6米，超过保证水位108米" in r["description_zh"]
    s = render("reservoir.level", "yellow", FULL["reservoir.level"], 2)
    assert "长潭水库水位236.8米，超过汛限水位236米" in s["description_zh"]


@pytest.mark.parametrize(
    ("km", "zh", "en"),
    [
        (0.0, "卫星在第1村境内的林地监测到热点", "on forest inside 第1村"),
        (0.04, "卫星在第1村境内的林地监测到热点", "on forest inside 第1村"),
        (2.3, "卫星在距第1村约2.3公里的林地监测到热点", "on forest about 2.3 km from 第1村"),
    ],
)
def test_a_hotspot_inside_the_village_is_not_said_as_zero_km(km: float, zh: str, en: str) -> None:
    t = render("forest_fire.danger_hotspot", "orange", {"hotspot_km": km}, 1)
    assert zh in t["description_zh"] and "约0公里" not in t["description_zh"]
    assert en in t["description_en"] and "about 0 km" not in t["description_en"]


def test_a_station_named_with_its_kind_is_not_said_twice() -> None:
    inputs = dict(FULL["river.stage"], river_station_name="邓屯水文站")
    r = render("river.stage", "red", inputs, 2)
    assert "邓屯水文站水位108.6米，超过保证水位108米" in r["description_zh"]
    assert "站站" not in r["description_zh"]


@pytest.mark.parametrize(
    ("x", "said"), [(81.0, "81"), (80.96, "81"), (80.94, "80.9"), (228.7, "228.7"), (0.04, "0")]
)
def test_numbers_are_said_without_a_trailing_zero(x: float, said: str) -> None:
    from riskmap.geo.rules.render import fmt

    assert fmt(x) == said
