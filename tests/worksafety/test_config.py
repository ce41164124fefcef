"""Site configuration files: what a valid file gives, and the errors a bad one gets (each naming
the file, the point and the field)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from riskmap.geo.errors import DataError
from riskmap.geo.worksafety.config import DEFAULT_ALARM, parse_config, read_config
from tests.worksafety.sites import DAM, write


def _dam_with(**point_changes) -> dict:
    data = yaml.safe_load(DAM)
    data["items"]["phreatic_depth"]["points"][1].update(point_changes)
    return data


def test_valid_file_and_effective_alarm_settings(tmp_path: Path) -> None:
    cfg = read_config(write(tmp_path, "dam.yaml", DAM))
    points = {p.id: (item, p, alarm) for item, p, alarm in cfg.points()}
    assert list(points) == ["T-JR1", "T-JR2", "T-YL1"]
    item, jr1, alarm = points["T-JR1"]
    assert (item, jr1.direction, jr1.thresholds["red"]) == ("phreatic_depth", "below", 3.1)
    # point over item over site over defaults
    assert alarm.stuck_n == 48 and alarm.min_duration_s == 1800 and alarm.dead_band == 0.1
    assert alarm.hold_s == 7200 and alarm.silent_s == DEFAULT_ALARM.silent_s
    assert points["T-JR2"][2].stuck_n == DEFAULT_ALARM.stuck_n
    assert points["T-YL1"][2].stuck_n == 0  # rain gauges: stuck check off
    stored = cfg.stored()
    assert stored["items"]["phreatic_depth"]["points"][0]["alarm"] == {
        "min_duration_s": 1800,
        "dead_band": 0.1,
        "hold_s": 7200,
        "stuck_n": 48,
        "silent_s": DEFAULT_ALARM.silent_s,
    }


BAD = [
    # (change to point T-JR2, text the error must contain)
    (
        {"thresholds": {"blue": 4.0, "yellow": 3.7, "orange": 3.8, "red": 3.1}},
        "item phreatic_depth point T-JR2 field (point): thresholds not ordered along direction"
        " 'below': need yellow > orange, got yellow=3.7 orange=3.8",
    ),
    (
        {"direction": "above"},
        "point T-JR2 field (point): thresholds not ordered along direction 'above': need blue <"
        " yellow, got blue=4.0 yellow=3.7",
    ),
    ({"thresholds": {"blue": 4.0, "high": 5.0}}, "point T-JR2 field (point): thresholds: use the"),
    ({"thresholds": {}}, "point T-JR2 field (point): thresholds: give at least one level"),
    ({"thresholds": {"purple": 1.0}}, "point T-JR2 field thresholds.purple"),
    ({"factor": None}, "point T-JR2 field (point): mn and factor go together"),
    ({"direction": "up"}, "point T-JR2 field direction: Input should be 'above' or 'below'"),
    ({"colour": "red"}, "point T-JR2 field colour: Extra inputs are not permitted"),
    ({"phys_min": 5.0, "phys_max": 1.0}, "point T-JR2 field (point): phys_min 5.0 must be below"),
    ({"phys_max": 3.5}, "point T-JR2 field (point): thresholds ['blue', 'yellow'] lie outside"),
    ({"max_jump": 0}, "point T-JR2 field max_jump: Input should be greater than 0"),
    ({"alarm": {"stuck_n": 1}}, "point T-JR2 field alarm: stuck_n: 0 (off) or at least 2"),
    ({"alarm": {"hold_s": -1}}, "point T-JR2 field alarm.hold_s: Input should be greater than"),
    ({"id": "T-JR1"}, "file: point T-JR1: id used twice (items phreatic_depth, phreatic_depth)"),
    (
        {"factor": "wk0201"},
        "file: point T-JR2: mn 99000000000001 factor wk0201 also on point T-JR1",
    ),
    ({"id": "bad id"}, "item phreatic_depth point bad id field id: String should match pattern"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_point_is_named(change: dict, message: str) -> None:
    with pytest.raises(DataError) as err:
        parse_config(_dam_with(**change), "sites/dam.yaml")
    assert str(err.value).startswith("sites/dam.yaml: ")
    assert message in str(err.value)


def test_bad_site_fields_and_yaml(tmp_path: Path) -> None:
    data = yaml.safe_load(DAM)
    data["items"]["gas"] = data["items"].pop("rainfall")
    with pytest.raises(DataError, match=r"x.yaml: field items.gas.\[key\]: Input should be"):
        parse_config(data, "x.yaml")
    del data["supervising_section"]
    with pytest.raises(DataError, match="field supervising_section: Field required"):
        parse_config(data, "x.yaml")
    broken = write(tmp_path, "broken.yaml", "site: [unclosed\n")
    with pytest.raises(DataError, match=r"broken.yaml: cannot read YAML"):
        read_config(broken)
    with pytest.raises(DataError, match=r"empty\.yaml: file: Input should be a valid dictionary"):
        parse_config(None, "empty.yaml")


def test_kind_decides_items_and_scheme() -> None:
    cfg = parse_config(yaml.safe_load(DAM), "dam.yaml")
    cfg.check_kind("tailings_dam")
    with pytest.raises(ValueError, match="item phreatic_depth: not monitored at a chemical_plant"):
        cfg.check_kind("chemical_plant")
    with pytest.raises(ValueError, match="site kind 'open_pit_slope' takes no monitoring points"):
        cfg.check_kind("open_pit_slope")


GNSS = """\
site: T-DAM
supervising_section: 矿山股
items:
  surface_displacement:
    points:
      - {id: GP1, name: GP1, unit: mm, direction: above, thresholds: {blue: 20, red: 50}}
      - {id: GP1V, name: GP1 速率, unit: mm/d, direction: above, quantity: rate, rate_of: GP1,
         thresholds: {blue: 2, red: 5}}
      - {id: GP2, name: GP2, unit: mm, direction: above, thresholds: {blue: 20, red: 50}}
      - {id: GP3, name: GP3, unit: mm, direction: above, thresholds: {blue: 20, red: 50}}
  rainfall:
    points:
      - {id: YL1, name: YL1, unit: mm, direction: above, thresholds: {yellow: 50}}
"""


def test_a_station_counts_once_for_its_amount_and_rate() -> None:
    cfg = parse_config(yaml.safe_load(GNSS), "gnss.yaml")
    levels = {"GP1": "blue", "GP1V": "red", "GP2": "blue", "GP3": None}
    assert cfg.station_levels(levels) == {
        "surface_displacement": ["red", "blue", None],  # GP1 = max(blue, red); GP3 quiet
        "rainfall": [None],  # missing from the levels: no alarm
    }
    # GP1 and GP1V both blue: one blue 监测点, not two
    both = cfg.station_levels({"GP1": "blue", "GP1V": "blue", "GP2": "blue", "GP3": "blue"})
    assert both["surface_displacement"] == ["blue", "blue", "blue"]


def test_rate_of_must_name_an_amount_point_of_the_item() -> None:
    data = yaml.safe_load(GNSS)
    data["items"]["surface_displacement"]["points"][1]["rate_of"] = "YL1"
    with pytest.raises(DataError, match="point GP1V: rate_of YL1 is not an amount point of"):
        parse_config(data, "gnss.yaml")
    data["items"]["surface_displacement"]["points"][1]["quantity"] = "amount"
    with pytest.raises(DataError, match=r"point GP1V field \(point\): rate_of is for points of"):
        parse_config(data, "gnss.yaml")
