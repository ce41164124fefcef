"""The schema refuses impossible rows with errors that say what is wrong."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors, sql

from riskmap.geo.db.migrate import migrate

SQUARE = "MULTIPOLYGON(((109.6 27.8,109.7 27.8,109.7 27.9,109.6 27.9,109.6 27.8)))"
SMALL = "MULTIPOLYGON(((109.61 27.81,109.62 27.81,109.62 27.82,109.61 27.82,109.61 27.81)))"
BOWTIE = "MULTIPOLYGON(((109.6 27.8,109.7 27.9,109.7 27.8,109.6 27.9,109.6 27.8)))"

INSERT_UNIT = """
INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code, population,
                        households, dataset_id, geom)
VALUES (%(code)s, %(level)s, %(parent)s, %(name)s, %(gb)s, rpad(%(code)s, 12, '0'), %(pop)s,
        %(hh)s, 'test', ST_GeomFromText(%(wkt)s, 4326))
"""


def unit(conn, code, level, parent, *, pop=100, hh=30, wkt=SMALL, gb=None):
    conn.execute(
        INSERT_UNIT,
        {
            "code": code,
            "level": level,
            "parent": parent,
            "name": f"单元{code}",
            "gb": gb or code[:6],
            "pop": pop,
            "hh": hh,
            "wkt": wkt,
        },
    )


@pytest.fixture(scope="module")
def empty_url(pg_cluster) -> Iterator[str]:
    """A migrated database of this module's own: the session one may hold the demo county
    (whose province, city and county codes these tests insert) when other tests loaded it."""
    name = f"t_constraints_{uuid.uuid4().hex[:8]}"
    admin = pg_cluster.url_for("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def conn(empty_url: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is rolled back after the test."""
    with psycopg.connect(empty_url) as connection:
        yield connection
        connection.rollback()


@pytest.fixture
def tree(conn: psycopg.Connection) -> psycopg.Connection:
    """A province → city → county → township chain to hang test rows on."""
    conn.execute(
        "INSERT INTO dataset (id, title, synthetic, source) VALUES ('test', '测试', true, 'tests')"
    )
    unit(conn, "430000", "province", None, gb="430000", wkt=SQUARE)
    unit(conn, "431200", "city", "430000", gb="431200", wkt=SQUARE)
    unit(conn, "431226", "county", "431200", wkt=SQUARE)
    unit(conn, "431226101", "township", "431226", wkt=SQUARE)
    return conn


def violation(conn: psycopg.Connection, statement, params=None) -> psycopg.Error:
    """Run a statement expected to fail inside a savepoint and return the error."""
    with pytest.raises(psycopg.Error) as info, conn.transaction():
        conn.execute(statement, params)
    return info.value


def test_a_valid_village_is_accepted(tree: psycopg.Connection) -> None:
    unit(tree, "431226101201", "village", "431226101")
    row = tree.execute(
        "SELECT township_code, county_code FROM village WHERE code = '431226101201'"
    ).fetchone()
    assert row == ("431226101", "431226")


def test_negative_population_is_refused(tree: psycopg.Connection) -> None:
    with pytest.raises(errors.CheckViolation) as info, tree.transaction():
        unit(tree, "431226101202", "village", "431226101", pop=-5, hh=0)
    assert "population" in str(info.value)


def test_village_outside_its_parents_code_is_refused(tree: psycopg.Connection) -> None:
    with pytest.raises(errors.CheckViolation) as info, tree.transaction():
        unit(tree, "431226102201", "village", "431226101")
    msg = str(info.value)
    assert "431226102201" in msg and "outside its parent" in msg and "431226101" in msg


def test_parent_must_be_a_higher_level(tree: psycopg.Connection) -> None:
    unit(tree, "431226101201", "village", "431226101")
    with pytest.raises(errors.CheckViolation, match="cannot have the village"), tree.transaction():
        unit(tree, "431226101201001", "village", "431226101201")


def test_households_cannot_exceed_population(tree: psycopg.Connection) -> None:
    with pytest.raises(errors.CheckViolation) as info, tree.transaction():
        unit(tree, "431226101203", "village", "431226101", pop=10, hh=20)
    assert info.value.diag.constraint_name == "admin_households_le_population"


def test_invalid_geometry_is_refused(tree: psycopg.Connection) -> None:
    with pytest.raises(errors.CheckViolation) as info, tree.transaction():
        unit(tree, "431226101204", "village", "431226101", wkt=BOWTIE)
    assert info.value.diag.constraint_name == "admin_geom_valid"


def test_malformed_code_is_refused(tree: psycopg.Connection) -> None:
    with pytest.raises(errors.CheckViolation) as info, tree.transaction():
        unit(tree, "43122610120", "village", "431226101")
    assert info.value.diag.constraint_name == "admin_code_form"


def test_bad_phone_number_is_refused(tree: psycopg.Connection) -> None:
    err = violation(
        tree,
        "INSERT INTO person (id, name, phone, dataset_id) VALUES ('p1', '张三', '12345', 'test')",
    )
    assert isinstance(err, errors.CheckViolation) and "phone" in str(err)


def test_reservoir_levels_must_be_ordered(tree: psycopg.Connection) -> None:
    tree.execute(
        "INSERT INTO station (stcd, stnm, sttp, addvcd, dataset_id, geom) VALUES"
        " ('61000001', '测试水库', 'RR', '431226', 'test', ST_Point(109.65, 27.85, 4326))"
    )
    err = violation(
        tree,
        "INSERT INTO reservoir (stcd, scale, dead_z, normal_z, design_flood_z, check_flood_z,"
        " dam_crest_z, total_capacity) VALUES ('61000001', 'small_1', 200, 230, 228, 232, 235, 5)",
    )
    assert isinstance(err, errors.CheckViolation)
    err = violation(
        tree,
        "INSERT INTO river_indicator (stcd, wrz, grz) VALUES ('61000001', 250, 240)",
    )
    assert isinstance(err, errors.CheckViolation)


def test_two_leaders_on_duty_at_once_are_refused(tree: psycopg.Connection) -> None:
    tree.execute(
        "INSERT INTO person (id, name, phone, dataset_id) VALUES"
        " ('a', '甲', '13800000001', 'test'), ('b', '乙', '13800000002', 'test')"
    )
    shift = "INSERT INTO duty_shift (org_code, post, person_id, shift, dataset_id) VALUES"
    tree.execute(
        shift + " ('431226', 'leader', 'a', '[2026-07-01 00:00Z, 2026-07-02 00:00Z)', 'test')"
    )
    err = violation(
        tree,
        shift + " ('431226', 'leader', 'b', '[2026-07-01 12:00Z, 2026-07-02 12:00Z)', 'test')",
    )
    assert isinstance(err, errors.ExclusionViolation)
    # back to back is fine
    tree.execute(
        shift + " ('431226', 'leader', 'b', '[2026-07-02 00:00Z, 2026-07-03 00:00Z)', 'test')"
    )


def test_duty_target_must_match_its_role(tree: psycopg.Connection) -> None:
    tree.execute(
        "INSERT INTO person (id, name, phone, dataset_id) VALUES ('c', '丙', '13800000003', 'test')"
    )
    err = violation(
        tree,
        "INSERT INTO duty (person_id, role, admin_code) VALUES ('c', 'reservoir_patrol', '431226')",
    )
    assert isinstance(err, errors.CheckViolation)
    tree.execute(
        "INSERT INTO duty (person_id, role, admin_code) VALUES ('c', 'grid_officer', '431226')"
    )


def test_flash_flood_immediate_must_exceed_prepare(tree: psycopg.Connection) -> None:
    unit(tree, "431226101201", "village", "431226101")
    err = violation(
        tree,
        "INSERT INTO flash_flood_threshold (village_code, duration_h, prepare_mm, immediate_mm,"
        " dataset_id) VALUES ('431226101201', 1, 40, 35, 'test')",
    )
    assert isinstance(err, errors.CheckViolation)


def test_deleting_a_dataset_removes_its_rows(tree: psycopg.Connection) -> None:
    unit(tree, "431226101201", "village", "431226101")
    tree.execute("DELETE FROM dataset WHERE id = 'test'")
    assert tree.execute("SELECT count(*) FROM admin_unit").fetchone()[0] == 0
