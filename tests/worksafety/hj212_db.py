"""A database of its own for the device-reading tests: a dam and a chemical plant with HJ 212
devices, their rows written by hand (the site loader is another part's work)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from riskmap.geo.db.migrate import migrate
from tests.conftest import clone_database, drop_database

SQUARE = (
    "ST_GeomFromText('MULTIPOLYGON(((109.6 27.8,109.7 27.8,109.7 27.9,109.6 27.9,109.6 27.8)))',"
    " 4326)"
)
POINT = "ST_SetSRID(ST_Point(109.615, 27.815), 4326)"
FIXTURE = [
    "INSERT INTO dataset (id, title, synthetic, source) VALUES ('t', '测试', true, 't')",
    f"INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code, dataset_id, geom)"
    f" VALUES ('430000', 'province', NULL, '湖南省', '430000', '430000000000', 't', {SQUARE}),"
    f" ('431200', 'city', '430000', '怀化市', '431200', '431200000000', 't', {SQUARE}),"
    f" ('431226', 'county', '431200', '麻阳县', '431226', '431226000000', 't', {SQUARE})",
    "INSERT INTO hazardous_site (id, name, kind, admin_code, dataset_id, geom) VALUES"
    f" ('dam1', '甲尾矿库', 'tailings_dam', '431226', 't', {POINT}),"
    f" ('chem1', '乙化工厂', 'chemical_plant', '431226', 't', {POINT})",
    "INSERT INTO ws_site (site_id, supervising_section, config_sha256, dataset_id) VALUES"
    " ('dam1', '矿山股', 'x', 't'), ('chem1', '危化股', 'x', 't')",
    # points in this order get n = 1, 2, 3 (identity of a fresh table)
    "INSERT INTO ws_point (id, site_id, item, name, unit, direction, mn, factor, dataset_id, geom)"
    " VALUES"
    f" ('dam1-gp1', 'dam1', 'surface_displacement', '坝顶表面位移 GP1', 'mm', 'above',"
    f"  'WK0001DAM', 'g01', 't', {POINT}),"
    f" ('dam1-pl', 'dam1', 'pond_level', '库水位', 'm', 'above', 'WK0001DAM', 'a01001', 't',"
    f"  {POINT}),"
    f" ('chem1-lel', 'chem1', 'combustible_gas', '可燃气体 G1', '%LEL', 'above', 'WK0002CHEM',"
    f"  'a99054', 't', {POINT})",
]
POINT_N = {"dam1-gp1": 1, "dam1-pl": 2, "chem1-lel": 3}


@pytest.fixture(scope="session", name="ws_template")
def ws_template_fixture(pg_cluster) -> Iterator[str]:
    """A freshly migrated database with the two sites' devices, copied for each test (not a
    copy of the session database, where other tests' committed rows may already be)."""
    name = f"t_wstpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    with psycopg.connect(url) as conn:
        for statement in FIXTURE:
            conn.execute(statement)
        got = dict(conn.execute("SELECT id, n FROM ws_point").fetchall())
        assert got == POINT_N
    yield url
    drop_database(pg_cluster, url)


@pytest.fixture(name="ws_url")
def ws_url_fixture(pg_cluster, ws_template: str) -> Iterator[str]:
    """A copy of the template of the test's own (servers commit); dropped after the test."""
    url = clone_database(pg_cluster, ws_template, prefix="t_ws")
    yield url
    drop_database(pg_cluster, url)
