"""The demo's danger-zone population (危险区人口) and its people, one per post, as loaded."""

from __future__ import annotations

import psycopg
import pytest

from riskmap.geo.demo.county import DemoCounty

# Posts that have exactly one holder in their unit (village, township, bureau).
SINGLE_POSTS = ("村主任", "村支书", "社区书记", "乡镇长", "街道办主任", "应急办主任", "局长")


def test_danger_zone_population_is_a_plausible_share(db_url: str, mayang: DemoCounty) -> None:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """SELECT v.population, v.danger_zone_population,
                      EXISTS (SELECT 1 FROM flash_flood_threshold f WHERE f.village_code = v.code),
                      d.synthetic
               FROM village v JOIN dataset d ON d.id = v.dataset_id
               WHERE v.county_code = '431226'"""
        ).fetchall()
        towns = conn.execute(
            "SELECT count(*), count(danger_zone_population) FROM admin_unit"
            " WHERE level = 'township' AND gb2260 = '431226'"
        ).fetchone()
    assert len(rows) == 222 and all(r[3] for r in rows)  # flagged: the synthetic demo dataset
    assert all(r[1] is not None and 0 <= r[1] <= r[0] for r in rows)
    assert towns[0] > 0 and towns[1] == 0  # a village figure: NULL for townships
    on = [dz / pop for pop, dz, stream, _ in rows if stream]
    off = [dz / pop for pop, dz, stream, _ in rows if not stream]
    assert on and off
    # villages on surveyed streams: a real share of their people, never the whole village
    assert min(on) >= 0.02 and max(on) <= 0.41  # 40 % at most, rounded to a person
    assert max(off) <= 0.051
    assert sum(on) / len(on) > 3 * sum(off) / len(off)
    total = sum(r[1] for r in rows)
    assert 0.03 * sum(r[0] for r in rows) < total < 0.3 * sum(r[0] for r in rows)


def test_the_column_refuses_more_than_the_population(db_url: str, mayang: DemoCounty) -> None:
    with psycopg.connect(db_url) as conn:
        code = conn.execute("SELECT code FROM village ORDER BY code LIMIT 1").fetchone()[0]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "UPDATE admin_unit SET danger_zone_population = population + 1 WHERE code = %s",
                (code,),
            )
        conn.rollback()


def test_each_post_has_one_holder(mayang: DemoCounty) -> None:
    person = mayang.tables["person"]
    single = person[person.title.isin(SINGLE_POSTS)]
    holders = single.groupby(["admin_code", "title"]).size()
    assert holders.max() == 1, holders[holders > 1]
    # each hazard point answers to its village's one 村主任 or a group leader of its own group
    points = mayang.tables["hazard_point"].merge(
        person, left_on="responsible_id", right_on="id", suffixes=("", "_p")
    )
    assert set(points.title) == {"村主任", "村民小组长"}
    heads = points[points.title == "村主任"]
    assert heads.village_code.is_unique
    assert (heads.admin_code == heads.village_code).all()
    leaders = points[points.title == "村民小组长"]
    assert leaders.org.is_unique and leaders.village_code.isin(heads.village_code).all()
    # every township keeps one head, and a reservoir's administrative person is a deputy
    towns = mayang.tables["admin_unit"].query("level == 'township'")
    heads = person[person.title.isin(["乡镇长", "街道办主任"])]
    assert sorted(heads.admin_code) == sorted(towns.code)
    duty = mayang.tables["duty"]
    admin = person.set_index("id").loc[duty[duty.role == "reservoir_administrative"].person_id]
    assert set(admin.title) <= {"副乡镇长", "街道办副主任"} and len(admin) > 0
