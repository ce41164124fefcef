"""The whole early-warning loop on the bundled storm: rules → lifecycle, hour by hour."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.demo.scenario import DEFAULT_START
from riskmap.geo.warnings.cycle import run_cycle
from tests.conftest import clone_database, drop_database


@pytest.fixture(scope="module")
def storm_db(pg_cluster: EmbeddedCluster, storm_url: str):
    """A copy of the replayed storm with 14 hourly rule cycles run over it (a copy: the storm
    is shared by the session, and tests that read its warnings must not see these)."""
    url = clone_database(pg_cluster, storm_url, prefix="t_stormw")
    timeline = []
    with psycopg.connect(url) as conn:
        for h in range(1, 15):
            timeline.append(run_cycle(conn, DEFAULT_START + timedelta(hours=h)))
            conn.commit()
    yield url, timeline
    drop_database(pg_cluster, url)


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


def test_every_published_version_has_sent_le_effective_lt_expires(storm_db) -> None:
    url, _ = storm_db
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT warning_id, version, cap_sent, effective, expires FROM warning_version"
            " WHERE state = 'published'"
        ).fetchall()
        assert len(rows) >= 5
        bad = [r for r in rows if not r[2] <= r[3] < r[4]]
        assert bad == []
        # and the warning's expiry is the <expires> of its latest published non-Cancel version
        # (of its draft while never published): computed here without the database's function
        mismatch = conn.execute(
            """SELECT w.id FROM warning w
               WHERE w.expires_at IS DISTINCT FROM coalesce(
                   (SELECT v.expires FROM warning_version v WHERE v.warning_id = w.id
                      AND v.state = 'published' AND v.msg_type <> 'Cancel'
                    ORDER BY v.version DESC LIMIT 1),
                   (SELECT v.expires FROM warning_version v WHERE v.warning_id = w.id
                      AND v.version = w.current_version))"""
        ).fetchall()
        assert mismatch == []


def test_no_candidate_covers_villages_of_a_higher_issued_warning(storm_db) -> None:
    """At the end of the storm: no open candidate holds a village that an issued warning of
    the same hazard at the same or a higher level holds (checked by brute force here)."""
    url, _ = storm_db
    rank = {"blue": 0, "yellow": 1, "orange": 2, "red": 3}
    with psycopg.connect(url) as conn:
        ws = conn.execute(
            "SELECT w.id, w.hazard, w.status, w.village_codes, v.colour FROM warning w"
            " JOIN warning_version v ON v.warning_id = w.id"
            " AND v.version = coalesce(w.published_version, w.current_version)"
            " WHERE w.status IN ('candidate', 'issued') AND w.expires_at > %s",
            (DEFAULT_START + timedelta(hours=14),),
        ).fetchall()
    for cid, hazard, status, villages, colour in ws:
        if status != "candidate":
            continue
        for iid, h2, s2, v2, c2 in ws:
            if s2 == "issued" and h2 == hazard and rank[c2] >= rank[colour]:
                assert not set(villages) & set(v2), (cid, iid)


# The weather office's signal in the replayed storm (data/scenarios/storm-431226/*cap*.xml):
# 暴雨橙色 sent 02:00Z, updated to 暴雨红色 at 05:00Z, cancelled at 16:00Z, over the county.
UPSTREAM = [(2, 5, "orange"), (5, 16, "red")]


def test_rainstorm_versions_flag_a_different_upstream_signal(storm_db) -> None:
    url, _ = storm_db
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT v.colour, v.evidence FROM warning w JOIN warning_version v"
            " ON v.warning_id = w.id WHERE w.rule_id = 'rainstorm.observed'"
            " AND v.state <> 'discarded' AND v.msg_type <> 'Cancel'"
        ).fetchall()
    assert rows
    flagged = 0
    for colour, evidence in rows:
        at = datetime.fromisoformat(evidence["at"])
        hours = (at - DEFAULT_START).total_seconds() / 3600
        upstream = next((c for a, b, c in UPSTREAM if a <= hours < b), None)
        conflicts = evidence.get("upstream_conflicts", [])
        if upstream is None or upstream == colour:
            assert conflicts == []
        else:
            assert [c["colour"] for c in conflicts] == [upstream], (colour, at)
            flagged += 1
    assert flagged >= 1
