"""Rainfall frequency over HTTP: annual maxima written for a demo village, `riskmap frequency
run` as a subprocess, then the village endpoint and the flag list of a real server; the
expected fits come from scipy directly, the flags from thresholds set far from the data."""

from __future__ import annotations

import math

import psycopg
import pytest
from psycopg.rows import dict_row
from scipy import stats

from tests.api.test_cli_and_service import clean_env, run

VILLAGE = "431226102216"  # 龙冲塘村: critical rainfall at three durations
SOURCE = "test-api-frequency"
YEARS = range(2014, 2024)


@pytest.fixture(scope="module")
def archived(service) -> dict[int, dict]:
    """Ten complete years per threshold duration: the first duration's maxima far above its
    准备转移 depth (over_warn), the others far below their 立即转移 depth (may_never_warn)."""
    with psycopg.connect(service.db_url, row_factory=dict_row) as conn:
        thresholds = conn.execute(
            "SELECT DISTINCT ON (duration_h) duration_h, prepare_mm, immediate_mm "
            "FROM flash_flood_threshold WHERE village_code = %s "
            "ORDER BY duration_h, soil_state = 'any' DESC",
            [VILLAGE],
        ).fetchall()
        out = {}
        for i, t in enumerate(thresholds):
            base = t["prepare_mm"] * 4 if i == 0 else t["immediate_mm"] * 0.15
            maxima = list(stats.gumbel_r(base, base / 10).rvs(len(YEARS), random_state=i))
            out[t["duration_h"]] = t | {"maxima": maxima}
            conn.cursor().executemany(
                "INSERT INTO village_rain_annual_max (source, village_code, duration_h, year, "
                "max_mm, hours, complete) VALUES (%s, %s, %s, %s, %s, 8760, true)",
                [
                    (SOURCE, VILLAGE, t["duration_h"], y, x)
                    for y, x in zip(YEARS, maxima, strict=True)
                ],
            )
    done = run(
        "frequency", "run", "--source", SOURCE, "--bootstrap", "100",
        env=clean_env(RISKMAP_DATABASE_URL=service.db_url),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"fitted {len(out)}, not fitted 0" in done.stdout
    return out


def test_village_frequency(service, archived) -> None:
    with service.client("viewer") as c:
        r = c.get(f"/api/villages/{VILLAGE}/frequency")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == SOURCE and body["village_name"] == "龙冲塘村"
    assert [d["duration_h"] for d in body["durations"]] == sorted(archived)
    first = min(archived)
    for d in body["durations"]:
        a = archived[d["duration_h"]]
        loc, scale = stats.gumbel_r.fit(a["maxima"])
        assert d["distribution"] == "gumbel" and d["n_years"] == 10
        assert d["parameters"]["loc"] == pytest.approx(loc, abs=1e-3)
        assert d["parameters"]["scale"] == pytest.approx(scale, abs=1e-3)
        levels = {lv["period"]: lv for lv in d["return_levels"]}
        assert sorted(levels) == [2, 5, 10, 20, 50, 100]
        assert levels[100]["mm"] == pytest.approx(loc - scale * math.log(-math.log(0.99)), abs=2e-3)
        assert levels[100]["lower"] < levels[100]["mm"] < levels[100]["upper"]
        th = d["thresholds"]
        assert th["prepare"]["mm"] == a["prepare_mm"] and th["immediate"]["mm"] == a["immediate_mm"]
        if d["duration_h"] == first:
            assert th["prepare"]["flag"] == "over_warn" and th["prepare"]["years_exceeded"] == 10
            assert th["prepare"]["return_period_pds_years"] < 1
        else:
            assert th["immediate"]["flag"] == "may_never_warn"
            assert th["immediate"]["years_exceeded"] == 0
            assert th["immediate"]["return_period_years"] is None or (
                th["immediate"]["return_period_years"] > 50
            )
    assert body["message"] is None and "耿贝尔" in body["method"]["zh"]


def _expected_flags(archived: dict[int, dict]) -> set[tuple[int, str, str]]:
    """From scipy's Gumbel fit: T_pds < 1 ⇔ −ln F(x) > 1 ⇔ x < μ (over_warn); T_am > 50 ⇔
    P(max ≥ x) < 0.02 (may_never_warn)."""
    out = set()
    for hours, a in archived.items():
        loc, scale = stats.gumbel_r.fit(a["maxima"])
        for kind in ("prepare", "immediate"):
            x = a[f"{kind}_mm"]
            if x < loc:
                out.add((hours, kind, "over_warn"))
            elif stats.gumbel_r.sf(x, loc, scale) < 1 / 50:
                out.add((hours, kind, "may_never_warn"))
    return out


def test_flag_list(service, archived) -> None:
    with service.client("viewer") as c:
        r = c.get("/api/frequency/flags", params={"source": SOURCE})
        only = c.get("/api/frequency/flags", params={"source": SOURCE, "flag": "over_warn"})
        bad = c.get("/api/frequency/flags", params={"flag": "sometimes"})
    assert r.status_code == 200 and only.status_code == 200, r.text
    expected = _expected_flags(archived)
    assert (min(archived), "prepare", "over_warn") in expected  # the data were made so
    items = r.json()["items"]
    assert {(i["duration_h"], i["threshold"], i["flag"]) for i in items} == expected
    assert all(i["village_code"] == VILLAGE and i["village_name"] == "龙冲塘村" for i in items)
    assert r.json()["count"] == len(items)
    over = {(i["duration_h"], i["threshold"], i["flag"]) for i in only.json()["items"]}
    assert over == {e for e in expected if e[2] == "over_warn"}
    assert bad.status_code == 422


def test_unknown_village_and_village_without_archive(service, archived) -> None:
    with service.client("viewer") as c:
        missing = c.get("/api/villages/431226999999/frequency")
        other = c.get("/api/villages/431226102201/frequency")
        wrong = c.get(f"/api/villages/{VILLAGE}/frequency", params={"source": "nope"})
        anonymous = c.get(f"/api/villages/{VILLAGE}/frequency", headers={"Authorization": ""})
    assert missing.status_code == 404 and "未找到" in missing.json()["detail"]
    assert other.status_code == 200, other.text
    assert other.json()["durations"] == [] and "没有降雨档案" in other.json()["message"]
    assert wrong.status_code == 200 and wrong.json()["durations"] == []
    assert "nope" in wrong.json()["message"]
    assert anonymous.status_code == 401


def test_another_countys_user_sees_no_flags_and_no_village(service, archived) -> None:
    from riskmap.api.users import add_user, new_token

    with psycopg.connect(service.db_url) as conn:
        add_user(conn, "test-freq-chenxi", "viewer", area="431223")  # 辰溪县, not 麻阳
        token = new_token(conn, "test-freq-chenxi", label="tests")
    with service.client(headers={"Authorization": f"Bearer {token}"}) as c:
        flags = c.get("/api/frequency/flags", params={"source": SOURCE})
        village = c.get(f"/api/villages/{VILLAGE}/frequency")
    assert flags.status_code == 200 and flags.json()["items"] == []
    assert village.status_code == 403


def test_the_demo_step_fits_a_source_and_skips_a_missing_one(service, archived, capsys) -> None:
    from riskmap.api.cli.frequency import demo_frequency

    count = "SELECT count(*), max(computed_at) FROM village_rain_frequency WHERE source = %s"
    with psycopg.connect(service.db_url) as conn:
        before = conn.execute(count, [SOURCE]).fetchone()
    demo_frequency(service.db_url, source="no-archive-here")
    demo_frequency(service.db_url, source=SOURCE)
    with psycopg.connect(service.db_url) as conn:
        after = conn.execute(count, [SOURCE]).fetchone()
        none = conn.execute(count, ["no-archive-here"]).fetchone()
    assert after[0] == before[0] == len(archived) and after[1] > before[1]  # replaced, not added
    assert none[0] == 0
    printed = capsys.readouterr()
    assert "nothing to fit" in printed.err + printed.out


def test_the_command_refuses_a_source_without_annual_maxima(service) -> None:
    done = run(
        "frequency", "run", "--source", "no-such-archive",
        env=clean_env(RISKMAP_DATABASE_URL=service.db_url),
    )  # fmt: skip
    assert done.returncode == 1
    assert "no annual maxima for source 'no-such-archive'" in done.stdout + done.stderr
