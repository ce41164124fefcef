"""Plan files (预案): the built-in plans' own test cases pass through `riskmap plans check`; a bad
file fails with path:line; a site plan replaces the built-in one with the same id."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from riskmap.geo.plans import BUILTIN_DIR, check_plans, load_plans
from riskmap.geo.plans.load import PlanFileError

ROOT = Path(__file__).resolve().parents[2]
BUILTIN_IDS = {
    "flood_control",
    "geohazard",
    "forest_fire",
    "earthquake",
    "hazardous_chemicals",
    "tailings_dam",
}

SITE_FLOOD = """\
plans:
  - id: flood_control
    version: site-1
    title_zh: 本县防汛预案
    title_en: Our flood plan
    levels:
      I:
        when: villages_evacuate_now >= 1
        tasks:
          - {after: 15m, who: county.leader, zh: 带班领导到岗}
    tests:
      - {name: one village is enough here, given: {villages_evacuate_now: 1}, expect: I}
"""


def riskmap(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "riskmap.api.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_builtin_plans_pass_their_own_tests() -> None:
    results = check_plans([BUILTIN_DIR])
    assert results and all(r.ok for r in results), [str(r) for r in results if not r.ok]
    assert {r.plan for r in results} == BUILTIN_IDS
    done = riskmap("plans", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(results)} passed, 0 failed" in done.stdout


def test_bad_plan_fails_with_path_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    # line 9 uses a variable that does not exist; line 12 a deadline that is not a duration
    bad.write_text(
        textwrap.dedent("""\
        plans:
          - id: bad
            version: "1"
            title_zh: 坏预案
            title_en: Bad
            levels:
              IV:
                when: >-
                  villages_purple >= 1
                tasks:
                  - who: county.chief
                    after: soon
                    zh: 做点什么
            tests: [{name: quiet, expect: none}]
        """),
        encoding="utf-8",
    )
    done = riskmap("plans", "check", str(bad))
    assert done.returncode == 1
    lines = [x for x in done.stdout.splitlines() if x.startswith("FAIL")]
    # the model (pydantic) rejects the deadline first; the condition is compiled after
    want = (
        f"FAIL {bad}:12: plan bad: plans.0.levels.IV.tasks.0.after: Value error,"
        " a duration such as 30m, 2h, 1h30m or 1d, not 'soon'"
    )
    assert lines == [want], done.stdout
    bad.write_text(bad.read_text(encoding="utf-8").replace("soon", "30m"), encoding="utf-8")
    (failure,) = [r for r in check_plans([bad]) if not r.ok]
    assert (failure.line, failure.plan) == (9, "bad")
    assert str(failure).startswith(
        f"FAIL {bad}:9: plan bad: level IV: unknown name 'villages_purple'"
    )


def test_a_failing_test_case_names_its_line(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(SITE_FLOOD.replace("expect: I}", "expect: II}"), encoding="utf-8")
    (result,) = check_plans([f])
    assert not result.ok and result.line == 12
    assert str(result) == (
        f"FAIL {f}:12: plan flood_control: test 'one village is enough here': expected II, got I"
    )


def test_site_plan_replaces_the_builtin_one(tmp_path: Path) -> None:
    (tmp_path / "flood.yaml").write_text(SITE_FLOOD, encoding="utf-8")
    plans = {p.id: p for p in load_plans([tmp_path])}
    assert set(plans) == BUILTIN_IDS
    assert plans["flood_control"].plan.version == "site-1"
    assert plans["geohazard"].path.parent == BUILTIN_DIR


def test_a_plan_file_is_compiled_again_only_when_its_bytes_change(tmp_path: Path) -> None:
    site = tmp_path / "flood.yaml"
    site.write_text(SITE_FLOOD, encoding="utf-8")
    first = {p.id: p for p in load_plans([tmp_path])}
    again = {p.id: p for p in load_plans([tmp_path])}
    # every rules cycle reads the plans: the same bytes give the plans compiled then
    assert all(again[i] is first[i] for i in BUILTIN_IDS)
    site.write_text(SITE_FLOOD.replace("site-1", "site-2"), encoding="utf-8")
    edited = {p.id: p for p in load_plans([tmp_path])}
    assert edited["flood_control"].plan.version == "site-2"
    assert edited["geohazard"] is first["geohazard"]
    site.write_text(SITE_FLOOD.replace("when: villages_evacuate_now >= 1", "when: ((("), "utf-8")
    with pytest.raises(PlanFileError, match=r"flood\.yaml:\d+: plan flood_control"):
        load_plans([tmp_path])  # an edit that breaks the file is an error, not the old plan
