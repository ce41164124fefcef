"""Rule files: validation errors name the file, rule and line; the built-in rules' own tests pass;
site rules override built-in ones."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from riskmap.geo.rules import BUILTIN_DIR, RuleFileError, check_rules, load_rules

GOOD = """\
rules:
  - id: test.rain
    version: 2
    hazard: rainstorm
    title_zh: 测试
    title_en: Test
    event_zh: 暴雨
    event_en: Rainstorm
    inputs:
      rain_3h: {kind: rain_window, hours: 3}
    levels:
      red:
        when: rain_3h >= 100
    templates:
      headline_zh: $county $level_zh
      headline_en: $level_en
      description_zh: $rain_3h
      description_en: $rain_3h
      instruction_zh: 走
      instruction_en: go
    tests:
      - {name: wet, inputs: {rain_3h: 120}, expect: red}
      - {name: dry, inputs: {rain_3h: 10}, expect: none}
"""


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_every_builtin_rule_passes_its_own_tests() -> None:
    results = check_rules([BUILTIN_DIR])
    assert [str(r) for r in results if not r.ok] == []
    rules = {r.rule for r in results}
    assert {
        "rainstorm.observed", "flash_flood.observed", "flash_flood.forecast", "river.stage",
        "reservoir.level", "geohazard.regional_risk", "geohazard.sensor_alarm",
        "forest_fire.danger_hotspot", "earthquake.intensity", "upstream.cap_relay",
    } <= rules  # fmt: skip
    assert len(results) >= 3 * len(rules)


def test_good_file_and_version_as_text(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    results = check_rules([path])
    assert [r.ok for r in results] == [True, True]
    (rule,) = load_rules([path], include_builtin=False)
    assert rule.rule.version == "2"


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [
        ("when: rain_3h >= 100", "when: rain_3h.__class__ >= 100", 13, "Attribute is not allowed"),
        ("when: rain_3h >= 100", "when: rain_6h >= 100", 13, "unknown name 'rain_6h'"),
        ("when: rain_3h >= 100", "when: open('x')", 13, "call of 'open'"),
        ("hours: 3}", "hours: 4}", 10, "hours"),
        ("kind: rain_window", "kind: rain_sum", 10, "kind"),
        ("expect: red}", "expect: purple}", 22, "expect"),
        ("inputs: {rain_3h: 120}", "inputs: {rain_9h: 120}", 22, "unknown input(s) rain_9h"),
        ("description_zh: $rain_3h", "description_zh: $rain_9h", 17, "unknown placeholder"),
        ("      red:", "      crimson:", 12, "levels.crimson"),
        ("    hazard: rainstorm\n", "    hazard: rainstorm\n    colour: red\n", 5, "colour"),
    ],
)
def test_errors_name_file_rule_and_line(
    tmp_path: Path, old: str, new: str, line: int, fragment: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    (result,) = check_rules([path])
    assert not result.ok
    assert (result.path, result.rule, result.line) == (path, "test.rain", line), str(result)
    assert fragment in result.message, str(result)
    with pytest.raises(RuleFileError) as info:
        load_rules([path], include_builtin=False)
    assert f"{path}:{line}: rule test.rain" in str(info.value)


def test_a_failing_test_case_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace("{rain_3h: 10}, expect: none", "{rain_3h: 10}, expect: red")
    )
    results = check_rules([path])
    assert [r.ok for r in results] == [True, False]
    assert results[1].line == 23 and "expected red, got none" in results[1].message


@pytest.mark.parametrize(("style", "line"), [("|", 15), (">-", 14)])  # folded: joined lines
def test_block_scalar_expression_error_line(tmp_path: Path, style: str, line: int) -> None:
    when = f"when: {style}\n          rain_3h >= 100 or\n          x > 1"
    path = write(tmp_path, GOOD.replace("when: rain_3h >= 100", when))
    (result,) = check_rules([path])
    assert result.line == line and "unknown name 'x'" in result.message, str(result)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("    hazard: rainstorm", "    hazard: [rainstorm"))
    (result,) = check_rules([path])
    assert not result.ok and result.line is not None and result.line >= 5


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("hazard: rainstorm", "hazard: !!python/name:os.system"))
    (result,) = check_rules([path])
    assert not result.ok and "python/name" in result.message


def test_duplicate_ids_in_one_folder(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    results = check_rules([tmp_path])
    assert [r.ok for r in results].count(False) == 1
    with pytest.raises(RuleFileError, match="also defined in"):
        load_rules([tmp_path], include_builtin=False)


def test_site_rule_overrides_builtin(tmp_path: Path) -> None:
    builtin = load_rules([], include_builtin=True)
    site = GOOD.replace("id: test.rain", "id: rainstorm.observed")
    write(tmp_path, site)
    rules = {r.rule.id: r for r in load_rules([tmp_path])}
    assert len(rules) == len(builtin)
    assert rules["rainstorm.observed"].path.parent == tmp_path
    assert list(rules["rainstorm.observed"].conditions) == ["red"]
