"""The whole early-warning loop on the bundled storm: rules → lifecycle, hour by hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from api.demo import DEFAULT_SEED
from geo.db.migrate import migrate
from geo.demo.county import generate
from geo.demo.load import load
from geo.demo.scenario import DEFAULT_START
from geo.warnings.cycle import run_cycle
from ingest.replay import replay
from tests.conftest import BUNDLED_BOUNDARIES, ROOT


@pytest.fixture(scope="module")
def storm_db(pg_cluster, tmp_path_factory: pytest.TempPathFactory):
    """A database of its own with the default demo, the replayed storm and 14 hourly cycles."""
    import uuid

    from psycopg import sql

    name = f"storm_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    tmp = tmp_path_factory.mktemp("storm")
    demo = generate(
        "431226",
        villages=None,
        seed=DEFAULT_SEED,
        bundled_path=BUNDLED_BOUNDARIES,
        out_dir=tmp,
        roster_start=datetime(2026, 7, 10, tzinfo=UTC),
    )
    timeline = []
    with psycopg.connect(url) as conn:
        load(conn, demo)
        replay(conn, ROOT / "data" / "scenarios" / "storm-431226", data_dir=tmp)
        for h in range(1, 15):
            result = run_cycle(conn, DEFAULT_START + timedelta(hours=h))
            conn.commit()
            timeline.append(result)
    yield url, timeline
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_quiet_before_the_storm_then_warnings(storm_db) -> None:
    _, timeline = storm_db
    rain_rules = {"rainstorm.observed", "flash_flood.observed"}
    first = [p for p in timeline[0].proposals if p.rule_id in rain_rules]
    assert not [p for p in first if p.colour in ("orange", "red")]
    peak = [p for r in timeline[6:10] for p in r.proposals if p.rule_id in rain_rules]
    assert any(p.colour == "red" for p in peak)


def test_levels_rise_and_fall(storm_db) -> None:
    url, timeline = storm_db
    actions = [c.action for r in timeline for c in [*r.changes, *r.expired]]
    assert "escalate" in actions
    assert "deescalate" in actions or "expire" in actions
    with psycopg.connect(url) as conn:
        # escalations of issued warnings are CAP Updates referencing every earlier version
        refs = conn.execute(
            "SELECT v.references_text, (SELECT count(*) FROM warning_version p WHERE"
            " p.warning_id = v.warning_id AND p.version < v.version AND p.state = 'published')"
            " FROM warning_version v WHERE v.msg_type = 'Update' AND v.state = 'published'"
        ).fetchall()
        assert refs and all(len(r.split()) == n for r, n in refs)
        # the demo ends with candidate and issued warnings still open
        open_ = dict(
            conn.execute(
                "SELECT status, count(*) FROM warning WHERE status IN ('candidate', 'issued')"
                " GROUP BY status"
            ).fetchall()
        )
        assert open_.get("candidate", 0) > 0 and open_.get("issued", 0) > 0


def test_evacuate_now_is_issued_without_waiting_and_delivered(storm_db) -> None:
    url, _ = storm_db
    with psycopg.connect(url) as conn:
        issued = conn.execute(
            "SELECT w.id, cardinality(w.village_codes) FROM warning w"
            " WHERE w.rule_id = 'flash_flood.observed' AND w.action = 'evacuate_now'"
            " AND w.published_version IS NOT NULL"
        ).fetchall()
        assert issued, "立即转移 warnings are auto-issued"
        wid = issued[0][0]
        channels = dict(
            conn.execute(
                "SELECT channel, count(*) FROM outbox WHERE warning_id = %s GROUP BY channel",
                (wid,),
            ).fetchall()
        )
        assert channels.get("broadcast", 0) >= issued[0][1] and channels.get("cap-feed") >= 1
        audit = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM warning_audit WHERE warning_id = %s ORDER BY id", (wid,)
            )
        ]
        assert audit[0] in ("propose", "issue") and "issue" in audit
        evidence = conn.execute(
            "SELECT evidence FROM warning_version WHERE warning_id = %s AND version = 1", (wid,)
        ).fetchone()[0]
        assert "flash_flood.observed" in str(evidence)
