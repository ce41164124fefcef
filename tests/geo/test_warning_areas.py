"""Warning areas on the replayed demo storm: every CAP message's polygons keep to its villages.

For every published version (and every draft a reviewer may preview) the CAP document is parsed
and its polygons are checked in PostGIS against the village outlines, independently of the
code that drew them: closed, at most 100 points, valid, hole-free; every village of its
geocodes covered by at least 99 % of its area; every other village by less than 1 %. The stored
area of every warning is the union of exactly its villages, valid also when written as GeoJSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import xmlschema
from lxml import etree
from psycopg import sql

from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.warnings.cap_xml import VILLAGE_GEOCODE, render_cap
from tests.conftest import clone_database

ROOT = Path(__file__).resolve().parents[2]
CAP_XSD = ROOT / "ingest" / "feeds" / "schemas" / "CAP-v1.2.xsd"
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
MAX_POINTS = 100
MIN_COVERED = 0.99  # of a warned village's area
MAX_STRAY = 0.01  # of an unwarned village's area


@pytest.fixture(scope="module")
def storm(pg_cluster: EmbeddedCluster, storm_url: str) -> Iterator[str]:
    """A copy of the replayed storm with the rules run hour by hour as ``riskmap demo`` does
    (14 hours from the scenario's start), on risk maps built from the demo layers."""
    from riskmap.geo.demo.scenario import DEFAULT_START
    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem
    from riskmap.geo.warnings.cycle import reset_for_demo, run_cycle

    url = clone_database(pg_cluster, storm_url, prefix="t_areas")
    with psycopg.connect(url) as conn:
        reset_for_demo(conn)
        build_risk(conn, catalogued_dem(conn, "431226"), county="431226")
        conn.commit()
        for h in range(1, 15):
            run_cycle(conn, DEFAULT_START + timedelta(hours=h))
            conn.commit()
    yield url
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _messages(conn: psycopg.Connection) -> list[tuple[int, int, bool, list[str]]]:
    """(warning, version, draft?, villages) of every published version and every draft."""
    return conn.execute(
        """SELECT v.warning_id, v.version, v.state = 'draft', v.village_codes
           FROM warning_version v JOIN warning w ON w.id = v.warning_id
           WHERE v.state = 'published'
              OR (v.state = 'draft' AND v.version = w.current_version)
           ORDER BY 1, 2"""
    ).fetchall()


def _polygons(doc: etree._Element) -> tuple[list[str], list[str]]:
    """The polygon texts and village geocodes of the message (both <info>s carry the same
    area: checked here)."""
    areas = doc.findall("cap:info/cap:area", NS)
    assert len(areas) == 2
    found = []
    for area in areas:
        rings = [p.text for p in area.findall("cap:polygon", NS)]
        codes = [
            g.findtext("cap:value", namespaces=NS)
            for g in area.findall("cap:geocode", NS)
            if g.findtext("cap:valueName", namespaces=NS) == VILLAGE_GEOCODE
        ]
        found.append((rings, codes))
    assert found[0] == found[1]
    return found[0]


def _wkt(ring: str) -> str:
    """CAP ``lat,lon lat,lon …`` as WKT (lon lat), checking each pair's form on the way."""
    pairs = [p.split(",") for p in ring.split(" ")]
    assert all(len(p) == 2 for p in pairs), ring[:80]
    return "POLYGON((" + ", ".join(f"{lon} {lat}" for lat, lon in pairs) + "))"


def test_every_message_of_the_storm_keeps_to_its_villages(storm: str) -> None:
    schema = xmlschema.XMLSchema(str(CAP_XSD))
    with psycopg.connect(storm) as conn:
        messages = _messages(conn)
        published = [m for m in messages if not m[2]]
        assert len(published) >= 5 and len(messages) > len(published)
        enclosing = 0  # messages whose villages enclose an unwarned village (the hard case)
        for wid, version, draft, villages in messages:
            doc_bytes = (
                render_cap(conn, wid, draft=True) if draft else render_cap(conn, wid, version)
            )
            schema.validate(doc_bytes)
            rings, codes = _polygons(etree.fromstring(doc_bytes))
            assert sorted(codes) == sorted(villages), (wid, version)  # geocodes authoritative
            assert rings, (wid, version)
            wkts = [_wkt(r) for r in rings]
            for ring, wkt in zip(rings, wkts, strict=True):
                pairs = ring.split(" ")
                assert pairs[0] == pairs[-1] and 4 <= len(pairs) <= MAX_POINTS, (wid, len(pairs))
                valid, holes, simple = conn.execute(
                    "SELECT ST_IsValid(g), ST_NumInteriorRings(g), ST_IsSimple(ST_ExteriorRing(g))"
                    " FROM ST_GeomFromText(%s, 4326) g",
                    [wkt],
                ).fetchone()
                assert valid and holes == 0 and simple, (wid, version, ring[:80])
            coverage = conn.execute(
                """WITH cover AS (SELECT ST_Union(ST_GeomFromText(t, 4326)) AS g
                                  FROM unnest(%(wkts)s::text[]) t)
                   SELECT v.code, ST_Area(ST_Intersection(v.geom, cover.g)) / ST_Area(v.geom)
                   FROM village v, cover""",
                {"wkts": wkts},
            ).fetchall()
            warned = set(villages)
            for code, share in coverage:
                if code in warned:
                    assert share >= MIN_COVERED, (wid, version, code, share)
                else:
                    assert share < MAX_STRAY, (wid, version, code, share)
            enclosing += conn.execute(
                """WITH u AS (SELECT ST_Union(geom) AS g FROM village WHERE code = ANY(%(c)s)),
                        shells AS (SELECT ST_MakePolygon(ST_ExteriorRing((ST_Dump(g)).geom)) AS s
                                   FROM u)
                   SELECT EXISTS (SELECT 1 FROM village v, shells
                                  WHERE NOT v.code = ANY(%(c)s) AND ST_Within(v.geom, shells.s))""",
                {"c": villages},
            ).fetchone()[0]
        assert enclosing > 0, "the storm should exercise areas that enclose unwarned villages"


def test_stored_areas_are_exactly_their_villages_and_valid_as_geojson(storm: str) -> None:
    with psycopg.connect(storm) as conn:
        rows = conn.execute(
            """SELECT w.id, ST_IsValid(w.geom),
                      ST_IsValid(ST_GeomFromGeoJSON(ST_AsGeoJSON(w.geom, 6))),
                      ST_Area(ST_SymDifference(w.geom, u.g)::geography)
                          / ST_Perimeter(u.g::geography)
               FROM warning w,
                    LATERAL (SELECT ST_Union(geom) AS g FROM village
                             WHERE code = ANY(w.village_codes)) u"""
        ).fetchall()
    assert rows
    for wid, valid, valid_json, differs in rows:
        assert valid and valid_json, wid
        # the same shape up to the 1e-6° grid snap: a vertex moves less than 0.1 m, so the
        # areas differ by less than 0.1 m times the outline's length
        assert differs < 0.1, (wid, differs)
