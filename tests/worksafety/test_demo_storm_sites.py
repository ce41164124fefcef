"""The demo storm through the work-safety sites: the readings the demo writes, the alarm cycle
hour by hour. By construction of the readings (geo/demo/site_readings.py: the pond level, the
freeboard and the first phreatic section are driven past red, the others stop short), the dam's
grade must rise through orange to red, a red dam must propose the 立即转移 warning of the
villages below it, the stuck sensor must be a fault told to maintenance only, and the
flickering gas detector must never make the chemical plant a notice."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from riskmap.geo.demo.scenario import DEFAULT_START
from riskmap.geo.demo.site_readings import replay_site_readings
from riskmap.geo.worksafety.cycle import run_cycle
from tests.conftest import clone_database, drop_database

HOURS = 14


@pytest.fixture(scope="module")
def storm(pg_cluster, storm_url):
    url = clone_database(pg_cluster, storm_url, prefix="t_wsstorm")
    grades, told, faults = [], [], []
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.execute("DELETE FROM ws_notice")  # the demo's own run through the storm
        replay_site_readings(conn, "431226", DEFAULT_START, HOURS, seed=1)
        for h in range(HOURS + 1):
            cycle = run_cycle(conn, DEFAULT_START + timedelta(hours=h))
            grades += [(h, g) for g in cycle.grades]
            told += [(h, c, o) for c, o in cycle.told]
            faults += [c for c in cycle.run.changes if c.kind == "fault"]
        conn.commit()
    yield {"url": url, "grades": grades, "told": told, "faults": faults}
    drop_database(pg_cluster, url)


def _dam(conn) -> str:
    return conn.execute("SELECT id FROM hazardous_site WHERE kind = 'tailings_dam'").fetchone()[
        "id"
    ]


def test_the_dam_rises_through_orange_to_red(storm) -> None:
    with psycopg.connect(storm["url"], row_factory=dict_row) as conn:
        dam = _dam(conn)
    steps = [g.level for _h, g in storm["grades"] if g.site_id == dam]
    assert "orange" in steps and steps[-1] == "red", steps
    assert steps.index("orange") < steps.index("red")


def test_a_red_dam_proposes_evacuating_the_villages_below(storm) -> None:
    with psycopg.connect(storm["url"], row_factory=dict_row) as conn:
        dam = _dam(conn)
        below = [
            r["village_code"]
            for r in conn.execute(
                "SELECT village_code FROM ws_site_downstream WHERE site_id = %s ORDER BY 1",
                (dam,),
            )
        ]
        red = [(c, o) for _h, c, o in storm["told"] if c.site_id == dam and c.level == "red"]
        assert len(red) == 1 and red[0][1].warning is not None
        wid = red[0][1].warning.warning_id
        w = conn.execute(
            "SELECT status, colour, hazard FROM warning WHERE id = %s", (wid,)
        ).fetchone()
        assert w == {"status": "candidate", "colour": "red", "hazard": "tailings_dam"}
        villages = [
            r["village_code"]
            for r in conn.execute(
                "SELECT village_code FROM warning_village WHERE warning_id = %s ORDER BY 1",
                (wid,),
            )
        ]
    assert villages == below and below


def test_the_stuck_sensor_is_a_fault_told_to_maintenance_only(storm) -> None:
    stuck = [f for f in storm["faults"] if f.point_id and f.point_id.endswith("-IN2")]
    assert [f.fault_kind for f in stuck if f.change == "opened"] == ["stuck"]
    told = [(c, o) for _h, c, o in storm["told"] if c.kind == "fault"]
    assert told and all(o.warning is None for _c, o in told)
    assert {c.level for c, _o in told} == {"stuck"}


def test_the_flickering_gas_detector_tells_nobody(storm) -> None:
    with psycopg.connect(storm["url"], row_factory=dict_row) as conn:
        plant = conn.execute(
            "SELECT id FROM hazardous_site WHERE kind = 'chemical_plant'"
        ).fetchone()["id"]
        flapping = conn.execute(
            "SELECT count(*) AS n FROM ws_alarm a JOIN ws_point p ON p.id = a.point_id"
            " WHERE p.site_id = %s AND a.flapping",
            (plant,),
        ).fetchone()["n"]
    assert flapping >= 1
    assert not [c for _h, c, _o in storm["told"] if c.site_id == plant]
