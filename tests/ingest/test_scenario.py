"""The bundled storm: regenerated identically, and replayed end to end through the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import pytest
import xarray as xr

from riskmap.api.cli.common import DEFAULT_SEED
from riskmap.geo.db.migrate import migrate
from riskmap.geo.demo.county import generate
from riskmap.geo.demo.load import load
from riskmap.geo.demo.scenario import write_storm
from riskmap.ingest.replay import replay
from tests.conftest import BUNDLED_BOUNDARIES, ROOT

BUNDLED_STORM = ROOT / "data" / "scenarios" / "storm-431226"


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory: pytest.TempPathFactory):
    return generate(
        "431226",
        villages=None,
        seed=DEFAULT_SEED,
        bundled_path=BUNDLED_BOUNDARIES,
        out_dir=tmp_path_factory.mktemp("demo"),
        roster_start=datetime(2026, 7, 10, tzinfo=UTC),
    )


def test_bundled_storm_is_what_the_generator_writes(default_demo, tmp_path: Path) -> None:
    fresh = write_storm(default_demo, tmp_path)
    bundled = sorted(p for p in BUNDLED_STORM.iterdir() if p.suffix != ".md")
    assert [p.name for p in fresh] == [p.name for p in bundled]
    for new, old in zip(fresh, bundled, strict=True):
        if new.suffix == ".nc":
            with xr.open_dataset(new) as a, xr.open_dataset(old) as b:
                np.testing.assert_array_equal(a.precipitation_amount, b.precipitation_amount)
                np.testing.assert_array_equal(a.time_bnds, b.time_bnds)
        else:
            assert new.read_bytes() == old.read_bytes(), new.name


def test_replaying_the_storm_loads_every_feed(default_demo, fresh_db: str, tmp_path: Path) -> None:
    migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        load(conn, default_demo)
        summaries = replay(conn, BUNDLED_STORM, data_dir=tmp_path)
        statuses = {Path(s.source).name: (s.status, s.message) for s in summaries}
        assert all(st in ("loaded", "partial") for st, _ in statuses.values()), statuses
        assert not any(s.problems for s in summaries), [
            (s.source, [str(p) for p in s.problems][:3]) for s in summaries if s.problems
        ]

        def one(q: str):
            return conn.execute(q).fetchone()[0]

        n_pp = one("SELECT count(*) FROM station WHERE sttp = 'PP'")
        assert one("SELECT count(*) FROM rain_obs") == 24 * n_pp
        assert one("SELECT count(*) FROM river_obs") == 24 * one(
            "SELECT count(*) FROM station WHERE sttp = 'ZQ'"
        )
        # a gauge passes its guarantee level, a reservoir its flood-limit level
        assert (
            one(
                "SELECT count(*) FROM river_obs o JOIN river_indicator i USING (stcd)"
                " WHERE o.z > i.grz"
            )
            > 0
        )
        assert (
            one(
                "SELECT count(*) FROM reservoir_obs o JOIN reservoir_flood_limit f"
                " USING (stcd) WHERE f.bgmd = '0701' AND o.rz > f.fsltdz"
            )
            > 0
        )
        # every village got hourly grid rainfall; the storm core exceeds 100 mm in 3 hours
        assert (
            one("SELECT count(DISTINCT village_code) FROM village_rain WHERE product = 'qpe'")
            == 222
        )
        assert one("SELECT max(rain_mm) FROM village_rain_window('2026-07-14T10:00Z', 3)") > 100
        assert one("SELECT count(*) FROM village_rain WHERE product = 'qpf'") > 0
        assert one("SELECT count(*) FROM geohazard_risk_area") == 2
        assert one("SELECT count(*) FROM hotspot WHERE nearest_village_code LIKE '431226%'") == 3
        # the rainstorm signal was issued, escalated, then cancelled through its references
        states = dict(
            conn.execute(
                "SELECT msg_type, state FROM cap_alert WHERE sender = '431226000000@hn.cma.gov.cn'"
            ).fetchall()
        )
        assert states == {"Alert": "updated", "Update": "cancelled", "Cancel": "active"} or (
            states["Alert"] in ("updated", "cancelled") and states["Update"] == "cancelled"
        ), states
        # replaying again changes nothing
        again = replay(conn, BUNDLED_STORM, data_dir=tmp_path)
        assert {s.status for s in again} == {"duplicate"}


def test_a_storm_ending_now_holds_nothing_from_later_hours(
    default_demo, fresh_db: str, tmp_path: Path
) -> None:
    """`make demo` places the storm so that its 14th hour is the current one: readings, grids
    and CAP messages of the day's later hours have not happened and must not be loaded (a
    console showed them as the stations' latest readings)."""
    from datetime import timedelta

    from riskmap.geo.demo.scenario import DEFAULT_START

    until = DEFAULT_START + timedelta(hours=14)
    files = write_storm(default_demo, tmp_path / "feeds", until=until)
    full = sorted(p.name for p in BUNDLED_STORM.iterdir() if p.suffix != ".md")
    # a proper subset of the bundled day: the same files, fewer of them
    assert {p.name for p in files} < set(full)
    migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        load(conn, default_demo)
        replay(conn, tmp_path / "feeds", data_dir=tmp_path / "data")
        latest = conn.execute(
            "SELECT greatest((SELECT max(tm) FROM rain_obs), (SELECT max(tm) FROM river_obs),"
            " (SELECT max(tm) FROM reservoir_obs),"
            " (SELECT max(valid_end) FROM grid_file WHERE product = 'qpe'),"
            " (SELECT max(sent) FROM cap_alert))"
        ).fetchone()[0]
        hours = conn.execute(
            "SELECT count(DISTINCT valid_end) FROM grid_file WHERE product = 'qpe'"
        ).fetchone()[0]
    assert latest == until
    assert hours == 14
