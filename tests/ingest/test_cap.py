"""Upstream CAP alerts and CAP Atom feeds through the real pipeline into the session PostGIS DB."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from lxml import etree

from riskmap.ingest import feeds
from riskmap.ingest.batch import FeedReadError
from riskmap.ingest.feeds.upstream_cap.feed import CapFeed, parse_cap
from riskmap.ingest.feeds.upstream_cap.safe_xml import (
    _hardened_parser,
    cap_schema,
    read_xml,
    shared_schema_dir,
)
from riskmap.ingest.pipeline import ingest_file
from tests.conftest import SHARED_DATA
from tests.ingest.cap_tables import clean_cap, emptied_cap

CAP_DIR = SHARED_DATA / "cap"
NS12 = "urn:oasis:names:tc:emergency:cap:1.2"

# file -> (alerts, infos, areas, references, feed entries) loaded; None = rejected whole.
# Counts checked against the files (<info>/<area>/<entry> counts, reference triples) and the
# feature matrix in PROVENANCE.md.
SAMPLES: dict[str, tuple[int, int, int, int, int] | None] = {
    "atom/eu_meteoalarm_legacy_atom_fr_2022.xml": (0, 0, 0, 0, 12),
    "atom/eu_meteoalarm_legacy_atom_ie_2022.xml": (0, 0, 0, 0, 232),
    "atom/eu_meteoalarm_legacy_atom_uk_2022.xml": (0, 0, 0, 0, 25),
    "atom/se_krisinformation_atom_2018.xml": (0, 0, 0, 0, 4),
    "atom/us_nws_alerts_atom_2014.xml": (0, 0, 0, 0, 2),
    "atom/us_nws_atom_full_feed_example.xml": (0, 0, 0, 0, 163),
    "atom/us_nws_oregon_atom.xml": (0, 0, 0, 0, 1),
    "atom/us_usgs_quakes_4.5_week_atom_2014.xml": (0, 0, 0, 0, 1),
    "au_bom_IDN21033_2019.xml": (1, 1, 1, 0, 0),
    "au_nsw_rfs_fire_2011.xml": (1, 2, 2, 0, 0),
    "ca_ec_update_2012.xml": (1, 2, 4, 2, 0),
    "ca_eccc_naad_2019_bilingual.xml": (1, 2, 2, 0, 0),
    "cap11/us_cisn_quake_cap11_signed_2011.xml": (1, 1, 1, 0, 0),
    "cap11/us_nws_blizzard_cap11.xml": (1, 1, 1, 0, 0),
    "cap11/us_nws_flash_flood_watch_cap11_2010.xml": (1, 1, 1, 0, 0),
    "cap11/us_usgs_quake_cap11_2010.xml": (1, 1, 1, 0, 0),
    "eu_meteoalarm_fr_meteofrance_update_2022.xml": (1, 2, 12, 1, 0),
    "eu_meteoalarm_ie_met_eireann_2022.xml": (1, 1, 1, 0, 0),
    "eu_meteoalarm_uk_metoffice_2022.xml": (1, 1, 10, 0, 0),
    "invalid/ca_update_empty_references.xml": (0, 0, 0, 0, 0),  # quarantined
    "invalid/tw_ncdr_404_html_big5.cap": None,
    "invalid/tw_wra_wrong_namespace.xml": None,
    "invalid/xxe_attack_cap12.xml": None,
    "is_imo_wind_2021.xml": (1, 2, 2, 0, 0),
    "ph_pagasa_tc_test_2014.xml": (1, 1, 1, 0, 0),
    "se_krisinformation_2018.xml": (1, 1, 2, 0, 0),
    "spec_examples/cap10_A2_severe_thunderstorm.xml": None,
    "spec_examples/cap11_A3_earthquake.xml": (1, 1, 1, 0, 0),
    "spec_examples/cap12_A1_homeland_security.xml": (1, 1, 1, 0, 0),
    "spec_examples/cap12_A2_severe_thunderstorm.xml": (1, 1, 1, 0, 0),
    "spec_examples/cap12_A3_earthquake_update.xml": (1, 1, 1, 1, 0),
    "spec_examples/cap12_A4_amber_alert_en_es.xml": (1, 2, 2, 0, 0),
    "tw_wra_reservoir_zh-tw_2014.xml": (1, 1, 1, 0, 0),
    "us_athoc_cancel_signed_2016.xml": (1, 0, 0, 1, 0),
    "us_ipaws_local_area_emergency_polygon.xml": (1, 1, 1, 0, 0),
    "us_ipaws_nv_cancel_2019.xml": (1, 0, 0, 1, 0),
    "us_ntwc_tsunami_cancellation_signed_2013.xml": (1, 1, 1, 3, 0),
    "us_wcatwc_tsunami_update_2011.xml": (1, 1, 1, 1, 0),
    "zh/tw_cdcc_air_raid_test_circle_2019.xml": (1, 1, 1, 0, 0),
    "zh/tw_cwa_earthquake_2024.xml": (1, 1, 5, 0, 0),
    "zh/tw_cwa_heavy_rain_2024.xml": (1, 1, 13, 0, 0),
    "zh/tw_cwa_thunderstorm_polygon_2024.xml": (1, 1, 1, 0, 0),
    "zh/tw_cwb_earthquake_circle_2019.xml": (1, 1, 4, 0, 0),
    "zh/tw_cwb_heavy_rain_update_2019.xml": (1, 1, 164, 2, 0),
    "zh/tw_cwb_tsunami_test_2015.xml": (1, 2, 6, 0, 0),
    "zh/tw_ncc_mobile_outage_2019.xml": (1, 9, 9, 0, 0),
    "zh/tw_wra_reservoir_release_update_2019.xml": (1, 5, 28, 6, 0),
}
TABLES = ("cap_alert", "cap_info", "cap_area", "cap_reference", "cap_feed_entry")


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection; the CAP tables are emptied around each test."""
    with emptied_cap(db_url) as conn:
        yield conn


def counts(conn: psycopg.Connection) -> tuple[int, ...]:
    return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES)


def ingest(conn: psycopg.Connection, path: Path, tmp_path: Path, **kw):
    return ingest_file(conn, path, data_dir=tmp_path, **kw)


def alert(conn: psycopg.Connection, identifier: str) -> dict:
    cur = conn.execute("SELECT * FROM cap_alert WHERE identifier = %s", (identifier,))
    names = [d.name for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def cap12(
    identifier: str,
    *,
    sender: str = "test@riskmap.example",
    sent: str = "2030-07-01T08:00:00+08:00",
    msg_type: str = "Alert",
    references: str | None = None,
    info: str | None = None,
) -> str:
    """A small CAP 1.2 message (expires in 2030, so it stays active)."""
    refs = f"<references>{references}</references>" if references is not None else ""
    if info is None:
        info = """<info><language>zh-CN</language><category>Met</category><event>暴雨</event>
        <urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
        <expires>2030-07-02T08:00:00+08:00</expires><headline>暴雨橙色预警</headline>
        <area><areaDesc>麻阳苗族自治县</areaDesc>
        <polygon>27.80,109.60 27.80,109.90 27.95,109.90 27.95,109.60 27.80,109.60</polygon>
        <geocode><valueName>GB/T 2260</valueName><value>431226</value></geocode></area></info>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{NS12}"><identifier>{identifier}</identifier><sender>{sender}</sender>
<sent>{sent}</sent><status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>
{refs}{info}</alert>"""


# -- the bundled schemas ------------------------------------------------------------------


def test_bundled_schemas_are_verbatim_oasis_copies() -> None:
    bundled = Path(feeds.__file__).parent / "schemas"
    for name in ("CAP-v1.2.xsd", "CAP-v1.1.xsd"):
        assert (bundled / name).read_bytes() == (shared_schema_dir() / name).read_bytes()
    assert b"Copyright OASIS Open 2010" in (bundled / "CAP-v1.2.xsd").read_bytes()
    assert "OASIS" in (bundled / "NOTICE.md").read_text(encoding="utf-8")
    assert cap_schema("1.2") is cap_schema("1.2")  # compiled once
    assert cap_schema("1.1").validate(
        etree.parse(str(CAP_DIR / "spec_examples/cap11_A3_earthquake.xml"))
    )


# -- every sample -----------------------------------------------------------------------------


def test_every_sample_file_is_listed() -> None:
    on_disk = {
        str(p.relative_to(CAP_DIR))
        for p in CAP_DIR.rglob("*")
        if p.is_file() and "schema" not in p.parts
    }
    assert on_disk == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_loads_or_is_refused(db, tmp_path: Path, name: str) -> None:
    expected = SAMPLES[name]
    s = ingest(db, CAP_DIR / name, tmp_path)  # kind detected by sniffing
    assert s.kind == "cap"
    if expected is None:
        assert s.status == "rejected" and s.message
        assert counts(db) == (0, 0, 0, 0, 0)
        return
    alerts, infos, areas, refs, entries = expected
    assert counts(db) == (alerts, infos, areas, refs, entries)
    assert s.status == ("partial" if name.startswith("invalid/") else "loaded"), s.problems
    if alerts:
        q = "SELECT count(*) FROM cap_alert WHERE ingest_id = %s"
        assert db.execute(q, (s.ingest_id,)).fetchone()[0] == alerts
        valid = db.execute("SELECT bool_and(ST_IsValid(geom)) FROM cap_area").fetchone()[0]
        assert valid in (True, None)
        # sent is stored as the instant the file gives, in UTC
        raw = db.execute("SELECT raw_xml, sent FROM cap_alert").fetchone()
        assert raw[1].utcoffset().total_seconds() == 0


# -- facts of particular samples -------------------------------------------------------------


def test_bilingual_canadian_alert_with_polygons_and_signature(db, tmp_path: Path) -> None:
    s = ingest(db, CAP_DIR / "ca_eccc_naad_2019_bilingual.xml", tmp_path)
    assert s.status == "loaded"
    a = alert(db, "urn:oid:2.49.0.1.124.3026064006.2019")
    assert a["sender"] == "cap-pac@canada.ca" and a["cap_version"] == "1.2"
    assert a["schema_valid"] is True and a["schema_errors"] == []  # the XML-DSig is allowed in 1.2
    langs = db.execute(
        "SELECT array_agg(language ORDER BY ordinal) FROM cap_info WHERE alert_id = %s", (a["id"],)
    ).fetchone()[0]
    assert langs == ["en-CA", "fr-CA"]
    rows = db.execute(
        "SELECT ST_IsValid(geom), ST_NumGeometries(geom), ST_Y(ST_Centroid(geom)),"
        " ST_X(ST_Centroid(geom)), geocodes FROM cap_area WHERE alert_id = %s",
        (a["id"],),
    ).fetchall()
    assert len(rows) == 2 and all(r[0] for r in rows)
    for _, _, lat, lon, geocodes in rows:  # "lat,lon" became lon/lat: Canada is lat>40, lon<0
        assert 40 < lat < 85 and -145 < lon < -50
        assert "profile:CAP-CP:Location:0.3" in geocodes


def test_bom_and_traditional_chinese(db, tmp_path: Path) -> None:
    path = CAP_DIR / "tw_wra_reservoir_zh-tw_2014.xml"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    ingest(db, path, tmp_path)
    a = alert(db, "WRA_ReservoirWarn_201405142010")
    assert a["sent"].isoformat() == "2014-05-14T12:10:00+00:00"  # 20:10 +08:00
    assert not a["raw_xml"].startswith("\ufeff")
    info = db.execute(
        "SELECT language, event, headline FROM cap_info WHERE alert_id = %s", (a["id"],)
    ).fetchone()
    assert info[0] == "zh-TW"  # sent as 'zh-tw'
    assert "水庫" in info[1] + (info[2] or "")


def test_iso_8859_1_signed_cap11_loads_with_schema_errors(db, tmp_path: Path) -> None:
    s = ingest(db, CAP_DIR / "cap11/us_cisn_quake_cap11_signed_2011.xml", tmp_path)
    assert s.status == "loaded"
    a = alert(db, "USGS-earthquakes-nc71635010.28103893.20110906T171538.586Z")
    assert a["cap_version"] == "1.1" and a["schema_valid"] is False
    assert len(a["schema_errors"]) == 1 and "Signature" in a["schema_errors"][0]
    assert a["schema_errors"][0].startswith("line 76:")
    circles = db.execute("SELECT circles, geom FROM cap_area WHERE alert_id = %s", (a["id"],))
    circles, geom = circles.fetchone()
    assert circles == [{"lat": 38.820, "lon": -122.812, "radius_km": 0.0}] and geom is None
    assert any("radius 0" in w for w in a["warnings"])


def test_swedish_element_order_error_is_recorded_not_fatal(db, tmp_path: Path) -> None:
    ingest(db, CAP_DIR / "se_krisinformation_2018.xml", tmp_path)
    a = alert(db, "11337sv")
    assert a["schema_valid"] is False and "senderName" in a["schema_errors"][0]
    assert db.execute(
        "SELECT sender_name IS NOT NULL FROM cap_info WHERE alert_id = %s", (a["id"],)
    ).fetchone() == (True,)


def test_prefixed_elements_and_geodesic_circles(db, tmp_path: Path) -> None:
    ingest(db, CAP_DIR / "au_nsw_rfs_fire_2011.xml", tmp_path)
    a = alert(db, "tag:www.rfs.nsw.gov.au2011-10-06:40184")
    assert a["code"] == ["urn:oasis:names:tc:emergency:cap:1.2:profile:CAP-AU:1.0"]
    info = db.execute(
        "SELECT category, response_type, event_code FROM cap_info"
        " WHERE alert_id = %s AND ordinal = 1",
        (a["id"],),
    ).fetchone()
    assert info[0] == ["Fire", "Met"] and info[1] == ["Evacuate"]
    assert info[2]["https://govshare.gov.au/xmlui/handle/10772/6495"] == ["fire"]
    rows = db.execute(
        "SELECT circles, ST_Area(geom::geography) / 1e6 FROM cap_area WHERE alert_id = %s",
        (a["id"],),
    ).fetchall()
    for circles, area_km2 in rows:
        (c,) = circles
        assert c["radius_km"] > 0
        assert area_km2 == pytest.approx(math.pi * c["radius_km"] ** 2, rel=0.01)


def test_self_intersecting_polygon_is_repaired(db, tmp_path: Path) -> None:
    ingest(db, CAP_DIR / "eu_meteoalarm_ie_met_eireann_2022.xml", tmp_path)
    a = alert(db, "2.49.0.1.372.0.221206232741.M_LowTemp003")
    assert any("polygon[5]" in w and "repaired" in w for w in a["warnings"])
    valid, n = db.execute(
        "SELECT ST_IsValid(geom), ST_NumGeometries(geom) FROM cap_area WHERE alert_id = %s",
        (a["id"],),
    ).fetchone()
    assert valid and n >= 1  # six polygons in the message, overlapping ones merged


def test_update_references_are_parsed(db, tmp_path: Path) -> None:
    ingest(db, CAP_DIR / "ca_ec_update_2012.xml", tmp_path)
    a = alert(db, "2.49.0.1.124.6bddbc91.2012")
    refs = db.execute(
        "SELECT ref_sender, ref_identifier, ref_sent FROM cap_reference WHERE alert_id = %s"
        " ORDER BY ordinal",
        (a["id"],),
    ).fetchall()
    assert [(r[0], r[1]) for r in refs] == [
        ("cap@ec.gc.ca", "2.49.0.1.124.a3f342a4.2012"),
        ("cap@ec.gc.ca", "2.49.0.1.124.60f31a3a.2012"),
    ]
    assert refs[0][2].isoformat() == "2012-05-02T21:45:05+00:00"
    assert a["msg_type"] == "Update" and a["references_raw"].count(",") == 4


def test_update_marks_the_original_updated(db, tmp_path: Path) -> None:
    ingest(db, CAP_DIR / "spec_examples/cap11_A3_earthquake.xml", tmp_path)
    assert alert(db, "TRI13970876.1")["state"] == "active"  # it gives no <expires>
    s = ingest(db, CAP_DIR / "spec_examples/cap12_A3_earthquake_update.xml", tmp_path)
    assert s.loaded["cap_alert_state"] >= 1
    update = alert(db, "TRI13970876.2")
    original = alert(db, "TRI13970876.1")
    assert original["state"] == "updated" and original["superseded_by"] == update["id"]


def _original_of(cancel: Path) -> tuple[str, str, str]:
    root = etree.parse(str(cancel)).getroot()
    ns = etree.QName(root).namespace
    return tuple(root.findtext(f"{{{ns}}}references").split(","))  # type: ignore[return-value]


def test_alert_whose_infos_all_expired_is_expired(db, tmp_path: Path) -> None:
    ingest(db, CAP_DIR / "spec_examples/cap12_A2_severe_thunderstorm.xml", tmp_path)
    assert alert(db, "KSTO1055887203")["state"] == "expired"  # expired 2003-06-17
    ingest(db, write(tmp_path, "live.xml", cap12("LIVE-1")), tmp_path)
    assert alert(db, "LIVE-1")["state"] == "active"  # expires 2030


def test_cancel_after_original(db, tmp_path: Path) -> None:
    cancel = CAP_DIR / "us_ipaws_nv_cancel_2019.xml"
    sender, identifier, sent = _original_of(cancel)
    original = write(tmp_path, "original.xml", cap12(identifier, sender=sender, sent=sent))
    assert ingest(db, original, tmp_path).status == "loaded"
    assert alert(db, identifier)["state"] == "active"
    ingest(db, cancel, tmp_path)
    orig = alert(db, identifier)
    assert orig["state"] == "cancelled"
    assert orig["superseded_by"] == alert(db, "AS-NV-58d33e3a-1f9a-4909-9d59-34e90b33b3e8")["id"]


def test_original_arriving_after_its_cancel_is_stored_cancelled(db, tmp_path: Path) -> None:
    cancel = CAP_DIR / "us_athoc_cancel_signed_2016.xml"
    sender, identifier, sent = _original_of(cancel)
    assert (sender, identifier) == ("AtHoc", "1017033100951096-517189320160225203219800")
    ingest(db, cancel, tmp_path)
    ref = db.execute("SELECT ref_identifier FROM cap_reference").fetchone()
    assert ref == (identifier,)  # kept although the original was never seen
    s = ingest(
        db, write(tmp_path, "late.xml", cap12(identifier, sender=sender, sent=sent)), tmp_path
    )
    assert s.status == "loaded"
    orig = alert(db, identifier)
    assert orig["state"] == "cancelled"
    assert orig["superseded_by"] == alert(db, f"{identifier}_Cancel")["id"]


def test_chain_of_updates_then_cancel(db, tmp_path: Path) -> None:
    snd = "chain@riskmap.example"
    t = ["2030-07-01T08:00:00+08:00", "2030-07-01T09:00:00+08:00", "2030-07-01T10:00:00+08:00"]
    ingest(db, write(tmp_path, "a.xml", cap12("C-1", sender=snd, sent=t[0])), tmp_path)
    up = f"{snd},C-1,{t[0]}"
    ingest(
        db,
        write(
            tmp_path, "b.xml", cap12("C-2", sender=snd, sent=t[1], msg_type="Update", references=up)
        ),
        tmp_path,
    )
    assert alert(db, "C-1")["state"] == "updated" and alert(db, "C-2")["state"] == "active"
    refs = f"{snd},C-1,{t[0]} {snd},C-2,{t[1]}"
    cancel = cap12("C-3", sender=snd, sent=t[2], msg_type="Cancel", references=refs, info="")
    ingest(db, write(tmp_path, "c.xml", cancel), tmp_path)
    c3 = alert(db, "C-3")["id"]
    for ident in ("C-1", "C-2"):
        a = alert(db, ident)
        assert (a["state"], a["superseded_by"]) == ("cancelled", c3)
    assert alert(db, "C-3")["state"] == "active"


def test_same_file_twice_and_same_alert_in_another_file(db, tmp_path: Path) -> None:
    path = CAP_DIR / "zh/tw_cwb_heavy_rain_update_2019.xml"
    first = ingest(db, path, tmp_path)
    before = counts(db)
    second = ingest(db, path, tmp_path)
    assert first.status == "loaded" and second.status == "duplicate"
    assert second.ingest_id == first.ingest_id and counts(db) == before
    copy = tmp_path / "copy.xml"
    copy.write_bytes(path.read_bytes() + b"\n")
    third = ingest(db, copy, tmp_path)
    assert third.status == "loaded" and third.loaded.get("cap_alert") == 0
    assert third.duplicates == 1 + 1 + 164 + 2 and counts(db) == before


# -- Atom feeds ----------------------------------------------------------------------------------


def test_nws_index_feed_entries_are_recorded_for_fetching(db, tmp_path: Path) -> None:
    s = ingest(db, CAP_DIR / "atom/us_nws_atom_full_feed_example.xml", tmp_path)
    assert s.status == "loaded" and s.loaded["cap_feed_entry"] == 163
    rows = db.execute("SELECT DISTINCT feed_id, disposition, reason FROM cap_feed_entry").fetchall()
    assert len(rows) == 1
    feed_id, disposition, reason = rows[0]
    assert feed_id == "https://alerts.weather.gov/cap/us.php?x=0" and disposition == "fetch"
    assert "lack identifier, sender, sent, scope" in reason
    first = db.execute(
        "SELECT link, updated, title, cap_fields FROM cap_feed_entry"
        " ORDER BY updated DESC, entry_id LIMIT 1"
    ).fetchone()
    assert first[0].startswith("https://alerts.weather.gov/cap/wwacapget.php?x=")
    assert first[3]["event"] and first[3]["geocode"][0]["valueName"] == ["FIPS6", "UGC"]
    assert counts(db)[:4] == (0, 0, 0, 0)  # an index summary is not loaded as an alert


def test_meteoalarm_and_usgs_and_oregon_feeds(db, tmp_path: Path) -> None:
    ingest(db, CAP_DIR / "atom/eu_meteoalarm_legacy_atom_uk_2022.xml", tmp_path)
    r = db.execute(
        "SELECT count(*), count(DISTINCT link), min(reason), min(link_type) FROM cap_feed_entry"
    ).fetchone()
    assert r[0] == 25 and r[1] >= 1 and "lack sender, category" in r[2]
    assert r[3] == "application/cap+xml"
    clean_cap(db)
    ingest(db, CAP_DIR / "atom/us_usgs_quakes_4.5_week_atom_2014.xml", tmp_path)
    link, reason = db.execute("SELECT link, reason FROM cap_feed_entry").fetchone()
    assert link.endswith("usb000qfgs.cap") and "only links to the CAP message" in reason
    clean_cap(db)
    ingest(db, CAP_DIR / "atom/us_nws_oregon_atom.xml", tmp_path)
    disposition, reason = db.execute("SELECT disposition, reason FROM cap_feed_entry").fetchone()
    assert disposition == "fetch" and "embedded CAP alert is incomplete" in reason
    assert "scope" in reason


def test_feed_with_embedded_alert_loads_it(db, tmp_path: Path) -> None:
    body = cap12("ATOM-1").split("?>", 1)[1]
    feed = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:test:feed</id><title>t</title>
<updated>2030-07-01T00:00:00Z</updated>
<entry><id>urn:test:e1</id><updated>2030-07-01T00:00:00Z</updated><title>暴雨</title>
<link href="https://example.org/ATOM-1.xml" type="application/cap+xml"/>
<content type="application/cap+xml">{body}</content></entry>
<entry><id>urn:test:e2</id><title>no updated</title></entry>
<entry><id>urn:test:e3</id><updated>2030-07-01T00:00:00Z</updated><title>nothing</title></entry>
</feed>"""
    s = ingest(db, write(tmp_path, "feed.xml", feed), tmp_path)
    assert s.status == "partial"
    assert [(p.record, p.field) for p in s.problems] == [("entry 2", "updated")]
    a = alert(db, "ATOM-1")
    entries = db.execute(
        "SELECT entry_id, disposition, alert_id, reason FROM cap_feed_entry ORDER BY entry_id"
    ).fetchall()
    assert entries[0][:3] == ("urn:test:e1", "loaded", a["id"])
    assert entries[1][1] == "unusable" and "no link" in entries[1][3]


# -- wrappers, bytes API, generated variants ---------------------------------------------------


def test_edxl_de_wrapper_with_two_alerts(db, tmp_path: Path) -> None:
    a1, a2 = (cap12(i).split("?>", 1)[1] for i in ("EDXL-1", "EDXL-2"))
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0">
<distributionID>d1</distributionID><senderID>x@y</senderID>
<contentObject><xmlContent><embeddedXMLContent>{a1}</embeddedXMLContent></xmlContent></contentObject>
<contentObject><xmlContent><embeddedXMLContent>{a2}</embeddedXMLContent></xmlContent></contentObject>
</EDXLDistribution>"""
    s = ingest(db, write(tmp_path, "edxl.xml", doc), tmp_path)
    assert s.status == "loaded" and s.loaded["cap_alert"] == 2
    assert alert(db, "EDXL-2")["schema_valid"] is True


def test_parse_cap_on_bytes_for_the_poller() -> None:
    batch = parse_cap(cap12("BYTES-1").encode(), "https://example.org/a.xml")
    tables = {t.table: len(t.frame) for t in batch.loads}
    assert tables == {
        "cap_alert": 1,
        "cap_info": 1,
        "cap_area": 1,
        "cap_reference": 0,
        "cap_feed_entry": 0,
    }
    assert batch.valid_from.isoformat() == "2030-07-01T00:00:00+00:00"
    assert batch.event["cap_alerts"][0]["identifier"] == "BYTES-1"


def test_unclosed_ring_lat_lon_order_and_naive_time(db, tmp_path: Path) -> None:
    info = """<info><category>met</category><event>暴雨</event><urgency>Expected</urgency>
      <severity>Severe</severity><certainty>Very Likely</certainty>
      <area><areaDesc>麻阳</areaDesc>
      <polygon>27.8,109.6 27.8,109.9 27.95,109.9</polygon></area></info>"""
    doc = cap12("GEN-1", sent="2030-07-01T08:00:00", info=info)
    s = ingest(db, write(tmp_path, "gen.xml", doc), tmp_path)
    assert s.status == "loaded"
    a = alert(db, "GEN-1")
    assert a["sent"].isoformat() == "2030-07-01T00:00:00+00:00"  # no offset: Beijing time
    assert a["schema_valid"] is False  # lower-case category, 'Very Likely', no offset
    assert any("not closed" in w for w in a["warnings"])
    assert any("Beijing" in w for w in a["warnings"])
    cat, certainty = db.execute("SELECT category, certainty FROM cap_info").fetchone()
    assert cat == ["Met"] and certainty == "Likely"
    x, y, ok = db.execute(
        "SELECT ST_XMin(geom), ST_YMin(geom), ST_IsValid(geom) FROM cap_area"
    ).fetchone()
    assert (round(x, 6), round(y, 6), ok) == (109.6, 27.8, True)


def test_bad_polygon_is_quarantined_and_the_alert_still_loads(db, tmp_path: Path) -> None:
    info = """<info><category>Met</category><event>e</event><urgency>Expected</urgency>
      <severity>Minor</severity><certainty>Likely</certainty>
      <area><areaDesc>a</areaDesc><polygon>127.8,109.6 27.8,109.9 27.95,109.9 127.8,109.6</polygon>
      <circle>27.9,109.7 5</circle></area></info>"""
    s = ingest(db, write(tmp_path, "badpoly.xml", cap12("GEN-2", info=info)), tmp_path)
    assert s.status == "partial" and s.loaded["cap_alert"] == 1
    (p,) = s.problems
    assert p.record == "alert 1 (GEN-2)" and p.field == "info[1]/area[1]/polygon[1]"
    assert "outside latitude" in p.reason
    assert db.execute("SELECT ST_NumGeometries(geom) FROM cap_area").fetchone() == (1,)
    stored = db.execute("SELECT field FROM quarantine WHERE ingest_id = %s", (s.ingest_id,))
    assert stored.fetchone() == ("info[1]/area[1]/polygon[1]",)


# -- bad input -------------------------------------------------------------------------------


def assert_rejected(db, s, *words: str) -> None:
    assert s.status == "rejected", s
    for w in words:
        assert w in s.message, s.message
    assert counts(db) == (0, 0, 0, 0, 0)
    status = db.execute("SELECT status FROM ingest_log WHERE id = %s", (s.ingest_id,)).fetchone()
    assert status == ("rejected",)


def test_xxe_sample_is_refused(db, tmp_path: Path) -> None:
    s = ingest(db, CAP_DIR / "invalid/xxe_attack_cap12.xml", tmp_path)
    assert_rejected(db, s, "xxe_attack_cap12.xml", "DOCTYPE", "XXE")


def test_hardened_parser_itself_resolves_no_external_entity(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    doc = (
        f'<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f'<alert xmlns="{NS12}"><identifier>&xxe;</identifier></alert>'
    ).encode()
    root = etree.fromstring(doc, _hardened_parser())
    assert b"TOP-SECRET" not in etree.tostring(root)
    with pytest.raises(FeedReadError, match="DOCTYPE"):
        read_xml(doc, "x.xml")


def test_billion_laughs_is_refused_fast(db, tmp_path: Path) -> None:
    ents = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE alert [{ents}]>\n<alert xmlns="{NS12}">'
    bomb += "<identifier>&lol9;</identifier></alert>"
    path = write(tmp_path, "lol.xml", bomb)
    t0 = time.perf_counter()
    s = ingest(db, path, tmp_path)
    assert time.perf_counter() - t0 < 5
    assert_rejected(db, s, "lol.xml", "DOCTYPE", "billion laughs")


def test_schema_invalid_but_complete_message_loads_with_errors(db, tmp_path: Path) -> None:
    doc = cap12("GEN-3").replace("<scope>Public</scope>", "<note>n</note><scope>Public</scope>")
    doc = doc.replace("<headline>", "<extra>x</extra><headline>")
    s = ingest(db, write(tmp_path, "order.xml", doc), tmp_path)
    assert s.status == "loaded"
    a = alert(db, "GEN-3")
    # libxml2 reports the first content-model violation (the misplaced <note>), with its line
    assert a["schema_valid"] is False and a["schema_errors"][0].startswith("line 3:")
    assert "note" in a["schema_errors"][0]
    assert a["note"] == "n"


def test_missing_required_element_is_quarantined(db, tmp_path: Path) -> None:
    doc = cap12("GEN-4").replace("<urgency>Expected</urgency>", "")
    s = ingest(db, write(tmp_path, "nourgency.xml", doc), tmp_path)
    assert s.status == "partial" and s.rows_loaded == 0
    (p,) = s.problems
    assert (p.record, p.field) == ("alert 1 (GEN-4)", "info[1]/urgency")
    assert "required <urgency> is missing" in p.reason and "GEN-4" in p.raw
    assert counts(db) == (0, 0, 0, 0, 0)
    q = db.execute("SELECT record, field FROM quarantine WHERE ingest_id = %s", (s.ingest_id,))
    assert q.fetchall() == [("alert 1 (GEN-4)", "info[1]/urgency")]


def test_update_with_empty_references_is_quarantined(db, tmp_path: Path) -> None:
    s = ingest(db, CAP_DIR / "invalid/ca_update_empty_references.xml", tmp_path)
    assert s.status == "partial" and s.rows_loaded == 0
    (p,) = s.problems
    assert p.field == "references" and "must reference" in p.reason
    assert counts(db) == (0, 0, 0, 0, 0)


def test_wrong_namespace_is_rejected(db, tmp_path: Path) -> None:
    s = ingest(db, CAP_DIR / "invalid/tw_wra_wrong_namespace.xml", tmp_path)
    assert_rejected(db, s, "urn:oasis:names:tc:emergency:alerts:1.2", "not CAP")


def test_html_404_page_is_rejected_as_not_cap(db, tmp_path: Path) -> None:
    s = ingest(db, CAP_DIR / "invalid/tw_ncdr_404_html_big5.cap", tmp_path)
    assert_rejected(db, s, "tw_ncdr_404_html_big5.cap", "not CAP: an HTML page", "404 - 找不到")


def test_cap10_is_rejected_as_unsupported(db, tmp_path: Path) -> None:
    s = ingest(db, CAP_DIR / "spec_examples/cap10_A2_severe_thunderstorm.xml", tmp_path)
    assert_rejected(db, s, "CAP 1.0", "not supported")


def test_empty_file_is_rejected(db, tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_bytes(b"\xef\xbb\xbf  \n")
    s = ingest(db, path, tmp_path, kind="cap")
    assert_rejected(db, s, "empty.xml", "empty file")


def test_truncated_xml_is_rejected(db, tmp_path: Path) -> None:
    data = (CAP_DIR / "spec_examples/cap12_A2_severe_thunderstorm.xml").read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: len(data) // 2])
    s = ingest(db, path, tmp_path)
    assert_rejected(db, s, "cut.xml", "not well-formed XML")


def test_sniff_does_not_claim_other_feeds(tmp_path: Path) -> None:
    feed = CapFeed()
    others = [p for p in SHARED_DATA.rglob("*") if p.is_file() and "cap" not in p.parts]
    assert others
    for p in others:
        with p.open("rb") as fh:
            assert not feed.sniff(p, fh.read(4096)), p
    plain_atom = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id>'
    assert not feed.sniff(tmp_path / "f.xml", plain_atom)
