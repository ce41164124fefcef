"""One storm over two counties of a city: the real rules fire across the county border, and
the lifecycle opens one warning per county (its own villages, its own county named in the
texts) instead of refusing the run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from riskmap.geo.db.migrate import migrate
from riskmap.geo.planner.whatif import dry_run
from riskmap.geo.warnings.lifecycle import apply_proposals
from tests.conftest import BUNDLED_BOUNDARIES, drop_database, make_scratch_dir

A, B = "431226", "431223"  # 麻阳苗族自治县 and 辰溪县, both of 怀化市
NAMES = {A: "麻阳", B: "辰溪"}  # by hand, from GB/T 2260
AT = datetime(2026, 7, 14, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def url(pg_cluster) -> Iterator[str]:
    from riskmap.geo.demo.county import generate
    from riskmap.geo.demo.load import load

    name = f"t_city_warn_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    tmp = make_scratch_dir("city-warn-")
    with psycopg.connect(url) as conn:
        for i, code in enumerate((A, B)):
            demo = generate(
                code, villages=12, seed=11 + i, bundled_path=BUNDLED_BOUNDARIES,
                out_dir=tmp / code, roster_start=datetime(2026, 7, 1, tzinfo=UTC),
            )  # fmt: skip
            load(conn, demo)
        conn.commit()
    yield url
    drop_database(pg_cluster, url)


def test_a_storm_over_two_counties_opens_one_warning_per_county(url: str) -> None:
    with psycopg.connect(url) as conn:
        query = "SELECT code FROM village WHERE county_code IN (%s, %s) ORDER BY code"
        codes = [r[0] for r in conn.execute(query, [A, B])]
        rain = pd.Series(160.0, index=codes)
        run = dry_run(conn, AT, village_rain=rain, duration_h=3)
        spanning = [p for p in run.proposals if {v[:6] for v in p.village_codes} == {A, B}]
        assert spanning, "the rules should fire across the border for 160 mm in 3 h"
        changes = apply_proposals(conn, list(run.proposals), AT)
        conn.commit()
        assert changes
        rows = conn.execute(
            "SELECT w.id, w.rule_id, w.colour, v.village_codes, v.headline_zh, v.description_zh "
            "FROM warning w JOIN warning_version v ON v.warning_id = w.id "
            "AND v.version = w.current_version ORDER BY w.id"
        ).fetchall()
    by_county: dict[str, list[tuple]] = {A: [], B: []}
    for wid, rule, colour, villages, headline, description in rows:
        counties = {v[:6] for v in villages}
        assert len(counties) == 1, f"warning {wid} spans {counties}"
        county = counties.pop()
        by_county[county].append((rule, colour))
        other = B if county == A else A
        text = headline + description
        assert NAMES[other] not in text, f"warning {wid} of {county} names {other}: {headline}"
    # every rule that fired over both counties opened a warning in each
    for p in spanning:
        for county in (A, B):
            assert p.rule_id in {r for r, _ in by_county[county]}, (p.rule_id, county)
