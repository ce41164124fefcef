"""Loading site files into ws_site / ws_point / ws_threshold on a real PostGIS: all files or
none, bad files named, and point numbers (ws_point.n, the readings' key) kept across reloads."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from riskmap.geo.errors import DataError
from riskmap.geo.worksafety.load import config_paths, load_sites, read_site_files, site_file
from tests.worksafety.sites import CHEM, DAM, setup_sites, write


@pytest.fixture
def sites(conn: psycopg.Connection) -> psycopg.Connection:
    """The session database with two hand-made sites, inside the test's rolled-back transaction
    (the loader's own transaction becomes a savepoint of it)."""
    setup_sites(conn)
    return conn


def _points(conn: psycopg.Connection) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT id, n, site_id, item, mn, factor, ST_X(geom), ST_Y(geom) FROM ws_point"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def _thresholds(conn: psycopg.Connection, point: str) -> dict[str, float]:
    rows = conn.execute(
        "SELECT level, value FROM ws_threshold WHERE point_id = %s", (point,)
    ).fetchall()
    return dict(rows)


def test_load_writes_site_points_and_thresholds(sites, db_url: str, tmp_path: Path) -> None:
    write(tmp_path, "a_dam.yaml", DAM)
    write(tmp_path, "b_chem.yml", CHEM)
    write(tmp_path, "notes.txt", "not a site")
    files = read_site_files([tmp_path])
    assert [Path(f.source).name for f in files] == ["a_dam.yaml", "b_chem.yml"]
    done = load_sites(sites, files)
    assert (done.sites, done.added, done.kept, done.thresholds) == (["T-DAM", "T-CHEM"], 4, 0, 13)
    site = sites.execute(
        "SELECT supervising_section, maintenance_contact, auto_issue, dataset_id,"
        " config->'items'->'rainfall'->'points'->0->'alarm'->>'stuck_n' FROM ws_site"
        " WHERE site_id = 'T-DAM'"
    ).fetchone()
    assert site == ("矿山股", "P-T1", False, "site-config-t-dam", "0")
    pts = _points(sites)
    assert pts["T-JR1"][1:5] == ("T-DAM", "phreatic_depth", "99000000000001", "wk0201")
    assert pts["T-JR1"][5:] == pytest.approx((109.501, 27.499))
    assert pts["T-YL1"][5:] == pytest.approx((109.5, 27.5))  # no lon/lat: the site's point
    assert _thresholds(sites, "T-JR1") == {"blue": 4.0, "yellow": 3.7, "orange": 3.4, "red": 3.1}
    assert _thresholds(sites, "T-GAS1") == {"high": 25.0, "high_high": 50.0}
    # inside a caller's transaction the load is a savepoint: nothing committed behind its back
    with psycopg.connect(db_url) as other:
        assert other.execute("SELECT count(*) FROM ws_point WHERE id LIKE 'T-%'").fetchone() == (0,)


def test_reload_keeps_point_numbers_and_replaces_the_rest(sites) -> None:
    first = yaml.safe_load(DAM)
    load_sites(sites, [site_file(first, "dam v1")])
    before = _points(sites)
    second = yaml.safe_load(DAM)
    jr = second["items"]["phreatic_depth"]["points"]
    jr[0]["thresholds"] = {"blue": 4.2, "orange": 3.5, "red": 3.2}  # yellow dropped
    jr[0]["factor"], jr[1]["factor"] = jr[1]["factor"], jr[0]["factor"]  # loggers swapped
    del second["items"]["rainfall"]  # gauge removed
    second["items"]["freeboard"] = {
        "points": [
            {"id": "T-AC1", "name": "安全超高", "unit": "m", "direction": "below",
             "thresholds": {"red": 0.5}}
        ]
    }  # fmt: skip
    done = load_sites(sites, [site_file(second, "dam v2")])
    after = _points(sites)
    assert (done.added, done.kept, done.removed) == (1, 2, ["T-YL1"])
    assert after["T-JR1"][0] == before["T-JR1"][0] and after["T-JR2"][0] == before["T-JR2"][0]
    assert after["T-AC1"][0] > max(n for n, *_ in before.values())  # new number, none reused
    assert "T-YL1" not in after and _thresholds(sites, "T-YL1") == {}
    assert (after["T-JR1"][4], after["T-JR2"][4]) == ("wk0202", "wk0201")
    assert _thresholds(sites, "T-JR1") == {"blue": 4.2, "orange": 3.5, "red": 3.2}


_COUNT = {  # rows of the hand-made sites only (the demo county may share the database)
    "ws_site": "SELECT count(*) FROM ws_site WHERE site_id LIKE 'T-%'",
    "ws_point": "SELECT count(*) FROM ws_point WHERE id LIKE 'T-%'",
    "ws_threshold": "SELECT count(*) FROM ws_threshold WHERE point_id LIKE 'T-%'",
}


def _count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(_COUNT[table]).fetchone()[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"site": "T-NONE"}, "b_chem.yaml: site T-NONE: no such hazardous_site"),
        ({"maintenance_contact": "P-NOBODY"}, "b_chem.yaml: field maintenance_contact: no person"),
        (
            {"items": {"combustible_gas": {"points": [{"id": "T-GAS1", "name": "g", "unit": "%",
             "direction": "above", "thresholds": {"red": 50}}]}}},
            "b_chem.yaml: site T-CHEM: point T-GAS1: a chemical_plant uses thresholds"
            " ['high', 'high_high']",
        ),
        (
            {"items": {"freeboard": {"points": [{"id": "T-F", "name": "f", "unit": "m",
             "direction": "below", "thresholds": {"high": 1}}]}}},
            "b_chem.yaml: site T-CHEM: item freeboard: not monitored at a chemical_plant",
        ),
    ],
)  # fmt: skip
def test_a_bad_file_rolls_back_every_file_and_names_itself(sites, tmp_path, change, message):
    write(tmp_path, "a_dam.yaml", DAM)
    chem = {**yaml.safe_load(CHEM), **change}
    write(tmp_path, "b_chem.yaml", yaml.safe_dump(chem, allow_unicode=True))
    with pytest.raises(DataError) as err:
        load_sites(sites, read_site_files([tmp_path]))
    assert message in str(err.value)
    assert (_count(sites, "ws_site"), _count(sites, "ws_point"), _count(sites, "ws_threshold")) == (
        0,
        0,
        0,
    )


def test_clashes_between_files_and_with_other_sites(sites, tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", DAM)
    write(tmp_path, "b.yaml", DAM.replace("site: T-DAM", "site: T-CHEM"))
    with pytest.raises(DataError, match=r"b.yaml: point T-JR1 is also in .*a.yaml"):
        read_site_files([tmp_path])
    write(tmp_path, "b.yaml", CHEM.replace("site: T-CHEM", "site: T-DAM"))
    with pytest.raises(DataError, match=r"b.yaml: site T-DAM is also in .*a.yaml"):
        read_site_files([tmp_path])
    load_sites(sites, [site_file(yaml.safe_load(DAM), "dam.yaml")])
    chem = yaml.safe_load(CHEM)
    gas = chem["items"]["combustible_gas"]["points"][0]
    gas["mn"], gas["factor"] = "99000000000001", "wk0201"  # the dam logger's code
    with pytest.raises(DataError, match=r"chem\.yaml: duplicate key value violates unique"):
        load_sites(sites, [site_file(chem, "chem.yaml")])
    assert _count(sites, "ws_site") == 1  # the dam, loaded before, stays


def test_paths_are_checked(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        config_paths([tmp_path / "missing.yaml"])
    with pytest.raises(DataError, match=r"no \.yaml site configuration files in this folder"):
        config_paths([tmp_path])
