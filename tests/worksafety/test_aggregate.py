"""Grading items and sites from point levels: GB 39496-2020 §5.5.4 for tailings dams, written
out by hand from the clause's text (not from the code), and the project's chemical and fireworks
rules. Clause, as read on jianbiaoku.com (book 171245, page 4853684):

  当同类监测项目的监测点达到4个蓝色预警时，该项目为黄色预警；达到3个黄色预警时，该项目应为橙色
  预警；达到2个橙色预警时，该项目应为红色预警；当监测项目达到4个蓝色预警时，应计为1项监测项目
  黄色预警，达……

Dam-level cases marked ⚠ follow the parallel wording past the visible text.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from riskmap.geo.worksafety.aggregate import grade_item, grade_site, load_rules, parse_rules

B, Y, O, R, N = "blue", "yellow", "orange", "red", None  # noqa: E741 (colour initials)

# (points of one dam item, expected item level, why)
ITEM_CASES = [
    ([B, B, B, B], Y, "4个蓝色预警 → 该项目为黄色预警"),
    ([B, B, B, B, B], Y, "达到4个: 5 also"),
    ([B, B, B, N, N], B, "3 blue points: below the count, the highest point"),
    ([Y, Y, Y], O, "达到3个黄色预警 → 橙色"),
    ([Y, Y, N], Y, "2 yellow points: yellow"),
    ([O, O], R, "达到2个橙色预警 → 红色"),
    ([O, N, N, N], O, "one orange point: orange"),
    ([R], R, "one red point: red"),
    ([R, N, N], R, "one red point among quiet ones: red"),
    ([B, B, B, B, Y, Y], Y, "该项目为黄色预警: the item is yellow, not counted again"),
    ([B, B, B, Y], Y, "3 blue + 1 yellow: yellow"),
    ([B] * 8, Y, "8 blue points: still one step, yellow"),
    ([Y, Y, B, B], Y, "2 yellow + 2 blue: yellow"),
    ([Y, Y, Y, O], O, "3 yellow (→ orange) and an orange point: orange"),
    ([N, N, N], N, "no point alarming"),
    ([], N, "no points at all"),
]


@pytest.mark.parametrize(("levels", "expected", "why"), ITEM_CASES)
def test_dam_item_grade_follows_the_clause(levels, expected, why) -> None:
    assert grade_item("tailings_dam", "phreatic_depth", levels).level == expected, why


# (item levels of one dam: {item: points}, expected dam level, why)
DAM_CASES = [
    ({"a": [B], "b": [B], "c": [B], "d": [B]}, Y, "4项监测项目蓝色预警 → 计为1项黄色, dam yellow"),
    ({"a": [B], "b": [B], "c": [B]}, B, "3 blue items: blue"),
    ({"a": [Y], "b": [Y], "c": [Y]}, O, "3 yellow items → 1 orange item ⚠"),
    ({"a": [O], "b": [O]}, R, "2 orange items → 1 red item ⚠"),
    ({"a": [R], "b": [N]}, R, "one red item: red"),
    ({"a": [B], "b": [B], "c": [B], "d": [B], "e": [Y], "f": [Y]}, O, "4 blue → 1 yellow, + 2 = 3"),
    ({"a": [B, B, B, B], "b": [Y], "c": [Y]}, O, "an item made yellow by 4 blue points counts"),
    ({k: [B] for k in "abcdefgh"}, Y, "8 blue items → 2 yellow: not yet 3"),
    ({"a": [B], "b": [B], "c": [B], "d": [B], "e": [O]}, O, "the orange item is highest"),
    ({"a": [N], "b": [N, N]}, N, "nothing alarming"),
    ({"a": [Y], "b": [B]}, Y, "mixed, below every count: the highest"),
]


@pytest.mark.parametrize(("items", "expected", "why"), DAM_CASES)
def test_dam_grade_follows_the_clause(items, expected, why) -> None:
    assert grade_site("tailings_dam", items).level == expected, why


def test_reasons_are_chinese_and_name_the_count() -> None:
    item = grade_item("tailings_dam", "surface_displacement", [B, B, B, B])
    assert item.reason == "4个监测点蓝色预警，项目升为黄色预警"
    assert item.counts == {"blue": 4}
    dam = grade_site(
        "tailings_dam",
        {k: [B] for k in ("rainfall", "freeboard", "pond_level", "dry_beach_length")},
    )
    assert dam.reason == "4项监测项目蓝色预警，计为1项黄色预警，尾矿库为黄色预警"
    red = grade_site("tailings_dam", {"phreatic_depth": [R, N], "rainfall": [B]})
    assert red.reason == "最高为浸润线埋深红色预警，尾矿库为红色预警"
    quiet = grade_site("tailings_dam", {"phreatic_depth": [N]})
    assert (quiet.level, quiet.reason) == (None, "无监测项目预警")
    assert quiet.items["phreatic_depth"].reason == "无监测点预警"


H, HH = "high", "high_high"
CHEMICAL_CASES = [
    ({"combustible_gas": [H, N]}, Y, "一级报警 → yellow"),
    ({"combustible_gas": [HH, N]}, O, "one detector at 二级 → orange"),
    ({"combustible_gas": [HH, HH]}, R, "two detectors of one item at 二级 → red"),
    ({"combustible_gas": [HH], "toxic_gas": [HH]}, O, "two items, one each: orange"),
    ({"toxic_gas": [H, HH]}, O, "high and high-high: orange"),
    ({"tank_level": [H], "pressure": [H], "temperature": [H], "toxic_gas": [H]}, Y, "no counting"),
    ({"toxic_gas": [N, N]}, N, "quiet"),
]


@pytest.mark.parametrize(("items", "expected", "why"), CHEMICAL_CASES)
def test_chemical_installation_grade(items, expected, why) -> None:
    assert grade_site("chemical_plant", items).level == expected, why


def test_fireworks_take_the_highest_point() -> None:
    assert grade_site("fireworks_warehouse", {"temperature": [B, B, B, B]}).level == B
    assert grade_site("fireworks_shop", {"humidity": [B], "stored_quantity": [R]}).level == R


def test_bad_levels_and_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match=r"phreatic_depth: point levels \['high'\]"):
        grade_item("tailings_dam", "phreatic_depth", ["high"])
    with pytest.raises(ValueError, match="no grading rules for site kind 'mine'; one of"):
        grade_site("mine", {})


def test_rule_file_is_checked() -> None:
    assert set(load_rules()) == {"tailings_dam", "chemical_plant", "fireworks_warehouse"}
    bad = {
        "x": {
            "standard": "s",
            "levels": ["blue"],
            "item": {"promote": [{"level": "blue", "count": 2, "to": "purple"}]},
            "site": "highest",
        }
    }
    with pytest.raises(ValidationError, match="purple"):
        parse_rules(bad)
    no_top = {"x": {"standard": "s", "levels": ["blue"], "item": {}}}
    with pytest.raises(ValidationError, match="either `dam`"):
        parse_rules(no_top)
