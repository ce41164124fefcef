"""A database of its own with a hand-made county of three villages on a 0.1° test grid."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from riskmap.geo.db.migrate import migrate

# the test grid: 4 × 3 cells of 0.1° over 100.0–100.4 °E, 40.0–40.3 °N (far from Mayang)
WEST, NORTH, RES, WIDTH, HEIGHT = 100.0, 40.3, 0.1, 4, 3
VILLAGES = {
    # A: exactly the cell of row 0, column 0 → its mean is that cell's value
    "999901001001": "POLYGON((100.0 40.2, 100.1 40.2, 100.1 40.3, 100.0 40.3, 100.0 40.2))",
    # B: exactly cells (1, 1) and (1, 2), same row, same area → the mean of their valid values
    "999901001002": "POLYGON((100.1 40.1, 100.3 40.1, 100.3 40.2, 100.1 40.2, 100.1 40.1))",
    # C: partial cover of four cells (the exactextract peer gives its mean)
    "999901001003": (
        "POLYGON((100.23 40.03, 100.37 40.03, 100.37 40.16, 100.23 40.16, 100.23 40.03))"
    ),
}
UNIT = """INSERT INTO admin_unit
    (code, level, parent_code, name, gb2260, stat_code, dataset_id, geom)
VALUES (%s, %s, %s, %s, '999901', rpad(%s, 12, '0'), 'test', ST_Multi(ST_GeomFromText(%s, 4326)))"""
BIG = "POLYGON((99 39, 101 39, 101 41, 99 41, 99 39))"


@pytest.fixture(scope="session")
def archive_db(pg_cluster) -> Iterator[str]:
    name = f"t_arch_{uuid.uuid4().hex[:8]}"
    admin = pg_cluster.url_for("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO dataset (id, title, synthetic, source) VALUES ('test', '测试', true, 't')"
        )
        for code, level, parent, label, wkt in [
            ("990000", "province", None, "测省", BIG),
            ("999900", "city", "990000", "测市", BIG),
            ("999901", "county", "999900", "测县", BIG),
            ("999901001", "township", "999901", "测镇", BIG),
            *[(c, "village", "999901001", f"测村{c[-1]}", w) for c, w in VILLAGES.items()],
        ]:
            conn.execute(UNIT, (code, level, parent, label, code, wkt))
    yield url
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
