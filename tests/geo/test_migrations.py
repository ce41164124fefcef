"""Migrations apply from empty, are idempotent, and leave the tables, indexes and views expected."""

from __future__ import annotations

import psycopg
import pytest

from riskmap.geo.db import migrate as m
from riskmap.geo.errors import DatabaseError

EXPECTED_TABLES = {
    "dataset",
    "admin_unit",
    "facility",
    "person",
    "station",
    "river_indicator",
    "reservoir",
    "reservoir_flood_limit",
    "station_village",
    "river",
    "dike",
    "raster_layer",
    "flash_flood_threshold",
    "rain_threshold_default",
    "hazard_point",
    "warehouse",
    "stock",
    "shelter",
    "rescue_team",
    "team_member",
    "team_equipment",
    "expert",
    "vehicle",
    "broadcast_terminal",
    "hazardous_site",
    "sensor",
    "duty",
    "duty_shift",
}


def test_apply_from_empty_then_idempotent(fresh_db: str, capfd) -> None:
    all_ids = m.pending(fresh_db)
    assert all_ids[0].startswith("0001_") and len(all_ids) >= 8
    assert m.migrate(fresh_db) == all_ids
    # yoyo prints the rows of any statement that returns some: `riskmap db migrate` and
    # `make demo` printed a psql-style table of a setval
    out, err = capfd.readouterr()
    assert "row)" not in out + err and "rows)" not in out + err, out + err
    assert m.pending(fresh_db) == []
    assert m.migrate(fresh_db) == []  # a second run applies nothing and does not fail
    with psycopg.connect(fresh_db) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                " AND table_type = 'BASE TABLE'"
            )
        }
        assert EXPECTED_TABLES <= tables
        views = {
            r[0] for r in conn.execute("SELECT viewname FROM pg_views WHERE schemaname='public'")
        }
        assert {"village", "on_duty_now", "reservoir_responsibility_gap"} <= views
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")


def test_every_geometry_column_has_a_spatial_index(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        geoms = conn.execute(
            "SELECT f_table_name, f_geometry_column FROM geometry_columns"
            " WHERE f_table_schema = 'public'"
            " AND f_table_name IN (SELECT tablename FROM pg_tables WHERE schemaname = 'public')"
        ).fetchall()
        missing = []
        for table, column in geoms:
            if table == "raster_layer":
                continue  # a catalogue of a handful of files, never searched spatially
            if table == "tile_cut":
                continue  # tile coordinates (every tile's 0–4096), found by its (z, x, y) key
            found = conn.execute(
                "SELECT 1 FROM pg_indexes WHERE tablename = %s AND indexdef ILIKE %s",
                (table, f"%USING gist ({column}%"),
            ).fetchone()
            if not found:
                missing.append(f"{table}.{column}")
        assert geoms and not missing, missing


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="postgresql://"):
        m.pending("mysql://x@y/z")
