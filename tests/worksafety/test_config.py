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
