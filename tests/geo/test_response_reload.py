"""Reloading a county (a yearly code or boundary update, or `riskmap demo` again) keeps its
emergency responses and their tasks: they are history, and a reference to the county's units
must not make the reload fail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from riskmap.geo.db.migrate import migrate
from tests.conftest import BUNDLED_BOUNDARIES, drop_database, make_scratch_dir

COUNTY = "431226"
T0 = datetime(2026, 7, 14, 6, tzinfo=UTC)


def test_reloading_a_county_keeps_its_responses(pg_cluster) -> None:
    from riskmap.geo.demo.county import generate
    from riskmap.geo.demo.load import load

    name = f"t_resp_reload_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    try:
        migrate(url)
        demo = generate(
            COUNTY, villages=12, seed=5, bundled_path=BUNDLED_BOUNDARIES,
            out_dir=make_scratch_dir("resp-reload-"), roster_start=T0,
        )  # fmt: skip
        with psycopg.connect(url) as conn:
            load(conn, demo)
            town = conn.execute(
                "SELECT code FROM admin_unit WHERE level = 'township' AND gb2260 = %s "
                "ORDER BY code LIMIT 1", [COUNTY]
            ).fetchone()[0]  # fmt: skip
            rid = conn.execute(
                "INSERT INTO response (plan_id, plan_version, plan_title_zh, plan_title_en, "
                "county_code, status, level, started_at, started_by, created_at) VALUES "
                "('flood_control', '1', '防汛应急预案', 'Flood plan', %s, 'active', 3, %s, "
                "'commander', %s) RETURNING id", [COUNTY, T0, T0]
            ).fetchone()[0]  # fmt: skip
            conn.execute(
                "INSERT INTO response_task (response_id, level, seq, who, office_code, text_zh, "
                "text_en, person_name, phone, assigned_how, due_at, created_at) VALUES "
                "(%s, 3, 1, 'township.leader', %s, '组织转移', 'Evacuate', '张三', '13800000000', "
                "'on_duty', %s, %s)", [rid, town, T0, T0]
            )  # fmt: skip
            conn.commit()
            load(conn, demo)  # the same county again: must not fail on the response
            conn.commit()
            kept = conn.execute(
                "SELECT r.county_code, r.status, t.office_code, t.person_name FROM response r "
                "JOIN response_task t ON t.response_id = r.id WHERE r.id = %s", [rid]
            ).fetchall()  # fmt: skip
        assert kept == [(COUNTY, "active", town, "张三")]
    finally:
        drop_database(pg_cluster, url)
