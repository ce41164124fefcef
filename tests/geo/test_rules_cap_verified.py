"""Rules on upstream CAP alerts, end to end on the Mayang demo villages: alerts ingested through
the real pipeline (signed here with certificates made here), then the rules run.

A rule input with ``require_verified: true`` fires for the alert whose signature verified and
for no other; a foreign-language alert (Environment Canada's, en-CA + fr-CA) keeps its
languages and is still relayed to the villages in zh-CN only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from lxml import etree

from riskmap.geo.rules import run_rules
from riskmap.geo.warnings.texts import speech_text
from riskmap.ingest.pipeline import ingest_file
from tests.ingest.cap_signing import CAP_DIR, make_signer, sign
from tests.ingest.cap_tables import emptied_cap

NS12 = "urn:oasis:names:tc:emergency:cap:1.2"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
AT = datetime(2030, 7, 1, 6, 0, tzinfo=UTC)  # 14时 Beijing: the alerts below are in force
SENT = "2030-07-01T08:00:00+08:00"
EXPIRES = "2030-07-02T08:00:00+08:00"
LATIN = re.compile(r"[A-Za-z]")

RULE_FILE = """
rules:
  - id: test.relay_verified
    version: "1"
    hazard: upstream
    title_zh: 已验证的上级预警
    title_en: Verified upstream warning
    event_zh: 上级预警
    event_en: Upstream warning
    inputs:
      cap: {kind: upstream_cap_colour, require_verified: true}
    levels:
      orange: {when: cap >= 3, severity: Severe, response: Monitor}
    templates: &texts
      headline_zh: 转发上级预警
      headline_en: Relayed upstream warning
      description_zh: 上级预警覆盖$villages。
      description_en: An upstream warning covers $n_villages_en.
      instruction_zh: 关注后续预警。
      instruction_en: Watch for further warnings.
    tests:
      - {name: orange, inputs: {cap: 3}, expect: orange}
      - {name: none, inputs: {}, expect: none}
  - id: test.relay_any
    version: "1"
    hazard: upstream
    title_zh: 上级预警
    title_en: Upstream warning
    event_zh: 上级预警
    event_en: Upstream warning
    inputs:
      cap: {kind: upstream_cap_colour}
    levels:
      orange: {when: cap >= 3, severity: Severe, response: Monitor}
    templates: *texts
    tests:
      - {name: orange, inputs: {cap: 3}, expect: orange}
"""


@pytest.fixture
def cap_db(db_url: str, mayang) -> Iterator[psycopg.Connection]:
    with emptied_cap(db_url) as conn:
        yield conn


def strips(conn: psycopg.Connection, n: int) -> list[str]:
    """``n`` west-to-east strips of Mayang's villages' extent as CAP polygons ("lat,lon" rings).
    Mayang only: other tests of the session load other counties into the same database."""
    x0, y0, x1, y1 = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
        " FROM (SELECT ST_Extent(geom) AS e FROM village WHERE code LIKE '431226%') s"
    ).fetchone()
    step = (x1 - x0) / n
    out = []
    for i in range(n):
        a, b = x0 + i * step + step * 0.1, x0 + (i + 1) * step - step * 0.1
        ring = [(y0, a), (y0, b), (y1, b), (y1, a), (y0, a)]
        out.append(" ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in ring))
    return out


def villages_in(conn: psycopg.Connection, polygon: str) -> set[str]:
    """Villages the polygon touches, straight from PostGIS (not through the rules)."""
    lonlat = ", ".join(" ".join(p.split(",")[::-1]) for p in polygon.split())
    rows = conn.execute(
        "SELECT code FROM village WHERE ST_Intersects(geom, ST_GeomFromText(%s, 4326))",
        (f"POLYGON(({lonlat}))",),
    )
    return {r[0] for r in rows}


def zh_alert(identifier: str, polygon: str) -> etree._Element:
    xml = f"""<alert xmlns="{NS12}"><identifier>{identifier}</identifier>
<sender>hunan-cma@example.cn</sender><sent>{SENT}</sent><status>Actual</status>
<msgType>Alert</msgType><scope>Public</scope><info><language>zh-CN</language>
<category>Met</category><event>暴雨</event><urgency>Expected</urgency><severity>Severe</severity>
<certainty>Likely</certainty><expires>{EXPIRES}</expires><senderName>麻阳苗族自治县气象台</senderName>
<headline>麻阳苗族自治县气象台发布暴雨橙色预警信号</headline>
<area><areaDesc>麻阳苗族自治县</areaDesc><polygon>{polygon}</polygon></area></info></alert>"""
    return etree.fromstring(xml)


def ingest(conn, tmp: Path, name: str, data: bytes, trusted=()) -> None:
    path = tmp / name
    path.write_bytes(data)
    s = ingest_file(conn, path, data_dir=tmp, trusted_certs=tuple(trusted))
    assert s.status == "loaded", s


def villages_of(proposals, rule_id: str) -> set[str]:
    return {c for p in proposals if p.rule_id == rule_id for c in p.village_codes}


def test_rule_requiring_verified_senders_fires_for_the_verified_alert_only(
    cap_db, tmp_path: Path
) -> None:
    trusted, untrusted = make_signer("hunan cma"), make_signer("someone else")
    west, middle, east = strips(cap_db, 3)
    ingest(cap_db, tmp_path, "v.xml", sign(zh_alert("V-1", west), trusted), [trusted.cert])
    ingest(cap_db, tmp_path, "i.xml", sign(zh_alert("I-1", middle), untrusted), [trusted.cert])
    ingest(cap_db, tmp_path, "u.xml", etree.tostring(zh_alert("U-1", east)), [trusted.cert])
    states = dict(cap_db.execute("SELECT identifier, signature_status FROM cap_alert"))
    assert states == {"V-1": "verified", "I-1": "invalid", "U-1": "unverified"}
    expect = {k: villages_in(cap_db, p) for k, p in (("w", west), ("m", middle), ("e", east))}
    assert all(expect.values()) and not expect["w"] & expect["e"]
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "relay.yaml").write_text(RULE_FILE, encoding="utf-8")
    proposals = run_rules(cap_db, AT, [rules], include_builtin=False)
    assert villages_of(proposals, "test.relay_verified") == expect["w"]
    assert villages_of(proposals, "test.relay_any") == expect["w"] | expect["m"] | expect["e"]


def eccc_alert(polygon: str) -> bytes:
    """Environment Canada's real bilingual alert (en-CA, fr-CA), moved to now and over Mayang:
    its times and polygons replaced, its signature (which would no longer match) removed."""
    root = etree.fromstring((CAP_DIR / "ca_eccc_naad_2019_bilingual.xml").read_bytes())
    ns = etree.QName(root).namespace
    root.find(f"{{{ns}}}sent").text = SENT
    for sig in root.findall(f"{{{DSIG}}}Signature"):
        root.remove(sig)
    for info in root.findall(f"{{{ns}}}info"):
        info.find(f"{{{ns}}}effective").text = SENT
        info.find(f"{{{ns}}}expires").text = EXPIRES
        for poly in info.iterfind(f".//{{{ns}}}polygon"):
            poly.text = polygon
    return etree.tostring(root)


def test_foreign_language_alert_keeps_its_languages_and_villages_hear_zh_cn(
    cap_db, tmp_path: Path
) -> None:
    west, east = strips(cap_db, 2)
    ingest(cap_db, tmp_path, "eccc.xml", eccc_alert(west))
    ingest(cap_db, tmp_path, "zh.xml", etree.tostring(zh_alert("ZH-1", east)))
    langs = cap_db.execute(
        "SELECT array_agg(i.language ORDER BY i.ordinal) FROM cap_info i"
        " JOIN cap_alert a ON a.id = i.alert_id WHERE a.identifier = %s",
        ("urn:oid:2.49.0.1.124.3026064006.2019",),
    ).fetchone()[0]
    assert langs == ["en-CA", "fr-CA"]
    proposals = [p for p in run_rules(cap_db, AT) if p.rule_id == "upstream.cap_relay"]
    by_colour = {p.colour: p for p in proposals}
    # severity Minor → blue for Canada's alert; 橙色 in the Chinese headline → orange
    assert set(by_colour) == {"blue", "orange"}
    canada, chinese = by_colour["blue"], by_colour["orange"]
    assert set(canada.village_codes) == villages_in(cap_db, west) - villages_in(cap_db, east)
    for p in (canada, chinese):
        zh = (p.event_zh, p.headline_zh, p.description_zh, p.instruction_zh)
        assert not any(LATIN.search(t) for t in zh), zh
        assert not LATIN.search(speech_text(p.headline_zh, p.description_zh, p.instruction_zh))
    assert canada.headline_zh == "转发：上级蓝色预警信号"
    assert canada.event_en == "weather"  # the English info's event, as sent
    assert "Environment Canada" not in canada.description_zh
    # a Chinese source still lends its issuer and event to the relay
    assert chinese.headline_zh == "转发：麻阳苗族自治县气象台发布暴雨橙色预警信号"


# Every English <event> of the real CAP files in shared/data/cap, and a few of other services,
# with the Chinese hazard a villager should hear (None: no hazard named, relayed as 上级预警信号).
EVENTS_EN = {
    "weather": None,  # ca_eccc_naad_2019_bilingual.xml
    "thunderstorm": "雷电",  # ca_ec_update_2012.xml
    "Moderate avalanches warning": "雪崩",  # eu_meteoalarm_fr_meteofrance_update_2022.xml
    "Yellow Low Temperature/Ice": "低温",  # eu_meteoalarm_ie_met_eireann_2022.xml
    "Yellow ice warning": "道路结冰",  # eu_meteoalarm_uk_metoffice_2022.xml
    "Weather Warning: Wind": "大风",  # is_imo_wind_2021.xml
    "Tropical Cyclone Alert": "台风",  # ph_pagasa_tc_test_2014.xml
    "News": None,  # se_krisinformation_2018.xml
    "Local Area Emergency": None,  # us_ipaws_local_area_emergency_polygon.xml
    "Tsunami Warning": "海啸",  # us_wcatwc_tsunami_update_2011.xml
    "Heavy Rain": "暴雨",
    "Freezing rain": "冻雨",
    "Flash Flood Warning": "洪水",
    "Red Warning for Rainfall": "暴雨",
    "Brainstorming session": None,  # words, not letters: no 'rain' inside 'Brainstorming'
    "": None,
}


@pytest.mark.parametrize("event", list(EVENTS_EN))
def test_an_english_event_names_its_hazard_in_chinese(event: str) -> None:
    from riskmap.geo.rules.cap_events import event_zh_of_en

    assert event_zh_of_en(event) == EVENTS_EN[event]


def test_a_foreign_alert_naming_a_known_hazard_is_relayed_with_its_chinese_name(
    cap_db, tmp_path: Path
) -> None:
    """Environment Canada's alert with the <event> of its 2012 thunderstorm alert: the villages
    hear 雷电, the English texts keep the event as sent, and no Latin letter is read out."""
    (west,) = strips(cap_db, 1)
    root = etree.fromstring(eccc_alert(west))
    ns = etree.QName(root).namespace
    english = next(i for i in root.iterfind(f"{{{ns}}}info")
                   if i.findtext(f"{{{ns}}}language") == "en-CA")  # fmt: skip
    english.find(f"{{{ns}}}event").text = "thunderstorm"
    ingest(cap_db, tmp_path, "eccc-thunderstorm.xml", etree.tostring(root))
    (p,) = [p for p in run_rules(cap_db, AT) if p.rule_id == "upstream.cap_relay"]
    assert (p.colour, p.event_zh) == ("blue", "雷电")
    assert p.headline_zh == "转发：雷电蓝色预警信号"
    assert p.description_zh.startswith("上级部门发布的雷电蓝色预警信号覆盖")
    assert p.event_en == "thunderstorm"
    zh = (p.event_zh, p.headline_zh, p.description_zh, p.instruction_zh)
    assert not any(LATIN.search(t) for t in zh), zh
