"""Demo county emergency resources: table shapes, constraints, placement, roster (no database)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from riskmap.geo.demo.admin import make_townships, make_villages, roll_up
from riskmap.geo.demo.boundaries import AdminOutline, load_outline
from riskmap.geo.demo.people import People
from riskmap.geo.demo.resources import make_resources

BUNDLED = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "hunan_demo.geojson"
MAYANG = "431226"
START = datetime(2026, 7, 1, tzinfo=UTC)
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-\d{7,8})$")
PLATE = re.compile(r"^[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}$")
ITEM = re.compile(r"^[a-z][a-z0-9_]*$")
RANGE = re.compile(r"^\[([^,\[\]()]+),([^,\[\]()]+)\)$")
TOLERANCE_DEG = 1e-9

# Columns of each table as created in geo/db/migrations (identity, generated and defaulted
# columns the generator does not set are left out: duty_shift.id, stock.updated_at).
EXPECTED_COLUMNS = {
    "facility": ["id", "kind", "name", "village_code", "occupants", "dataset_id", "geom"],
    "warehouse": [
        "id",
        "name",
        "level",
        "admin_code",
        "address",
        "manager_id",
        "floor_m2",
        "dataset_id",
        "geom",
    ],
    "stock": ["warehouse_id", "item", "item_name", "unit", "quantity"],
    "shelter": [
        "id",
        "name",
        "kind",
        "admin_code",
        "capacity",
        "occupancy",
        "area_m2",
        "manager_id",
        "dataset_id",
        "geom",
    ],
    "rescue_team": [
        "id",
        "name",
        "specialty",
        "level",
        "admin_code",
        "leader_id",
        "dataset_id",
        "geom",
    ],
    "team_member": ["team_id", "person_id", "role"],
    "team_equipment": ["team_id", "item", "item_name", "quantity"],
    "expert": ["person_id", "specialty", "employer", "dataset_id"],
    "vehicle": [
        "id",
        "plate",
        "kind",
        "seats",
        "payload_t",
        "team_id",
        "warehouse_id",
        "dataset_id",
        "geom",
    ],
    "broadcast_terminal": [
        "id",
        "name",
        "village_code",
        "protocol",
        "endpoint",
        "speakers",
        "status",
        "dataset_id",
        "geom",
    ],
    "duty_shift": ["org_code", "post", "person_id", "shift", "phone", "dataset_id"],
}
GEO_TABLES = {k for k, cols in EXPECTED_COLUMNS.items() if "geom" in cols}
COUNTY_SPECIALTIES = {
    "road_traffic",
    "flood_control",
    "hazardous_chemicals",
    "forest_fire",
    "outdoor_rescue",
}
# CHECK (... IN (...)) value lists from the migrations.
ALLOWED = {
    ("facility", "kind"): {
        "school",
        "kindergarten",
        "clinic",
        "hospital",
        "nursing_home",
        "market",
    },
    ("warehouse", "level"): {"county", "township", "village"},
    ("shelter", "kind"): {
        "school",
        "gymnasium",
        "community_centre",
        "open_space",
        "purpose_built",
        "government",
    },
    ("rescue_team", "specialty"): COUNTY_SPECIALTIES | {"comprehensive", "medical", "mine_rescue"},
    ("rescue_team", "level"): {"county", "township", "village"},
    ("team_member", "role"): {"leader", "deputy", "member"},
    ("expert", "specialty"): {
        "flood",
        "geohazard",
        "forest_fire",
        "hazardous_chemicals",
        "meteorology",
        "structural",
        "medical",
        "mining",
    },
    ("vehicle", "kind"): {
        "rescue",
        "fire_engine",
        "ambulance",
        "truck",
        "boat_trailer",
        "command",
        "excavator",
    },
    ("broadcast_terminal", "protocol"): {"http-json", "ebm-xml", "mqtt"},
    ("broadcast_terminal", "status"): {"online", "offline", "fault"},
    ("duty_shift", "post"): {"leader", "chief", "officer"},
}


def _inputs(
    code: str, n_villages: int, seed: int = 1
) -> tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    county = load_outline(code, bundled_path=BUNDLED)
    towns = make_townships(county, n_villages, seed=seed, dataset_id=f"demo-{code}")
    villages = make_villages(towns, seed=seed, dataset_id=f"demo-{code}")
    return county, roll_up(towns, villages), villages


def _run(
    county: AdminOutline,
    towns: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    seed: int = 7,
    **kwargs: object,
) -> tuple[dict[str, pd.DataFrame], People]:
    people = People(county.code, f"demo-{county.code}", np.random.default_rng(seed))
    frames = make_resources(
        county,
        towns,
        villages,
        people,
        seed=seed,
        dataset_id=f"demo-{county.code}",
        roster_start=START,
        **kwargs,
    )
    return frames, people


@pytest.fixture(scope="module")
def mayang() -> tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return _inputs(MAYANG, 222)


@pytest.fixture(scope="module")
def result(
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    frames, people = _run(*mayang)
    person, duty = people.frames()
    return frames, person, duty


@pytest.fixture(scope="module")
def frames(
    result: tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame],
) -> dict[str, pd.DataFrame]:
    return result[0]


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    if isinstance(a, gpd.GeoDataFrame):
        assert isinstance(b, gpd.GeoDataFrame)
        assert a.crs == b.crs
        assert np.all(shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(), 0.0))
        a, b = pd.DataFrame(a.drop(columns="geom")), pd.DataFrame(b.drop(columns="geom"))
    pd.testing.assert_frame_equal(a, b)


def _parse_ranges(shifts: pd.Series) -> tuple[pd.Series, pd.Series]:
    parts = shifts.str.extract(RANGE)
    assert parts.notna().all().all(), "shift is not a [lower,upper) range literal"
    lower = pd.to_datetime(parts[0], utc=True, format="ISO8601")
    upper = pd.to_datetime(parts[1], utc=True, format="ISO8601")
    return lower, upper


def _overlaps(shifts: pd.DataFrame, by: list[str]) -> int:
    """Number of shifts that start before the previous shift of the same group has ended."""
    lower, upper = _parse_ranges(shifts["shift"])
    frame = shifts[by].assign(lower=lower, upper=upper).sort_values([*by, "lower"])
    prev_end = frame.groupby(by)["upper"].shift()
    return int((frame["lower"] < prev_end).sum())


def _inside(points: gpd.GeoSeries, codes: pd.Series, units: gpd.GeoDataFrame) -> np.ndarray:
    area = units.set_index("code").geometry
    shapes = area.loc[codes.to_numpy()].to_numpy()
    return shapely.dwithin(shapes, points.to_numpy(), TOLERANCE_DEG)


# --------------------------------------------------------------------------- shape


def test_determinism_same_seed_same_frames(
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
    result: tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame],
) -> None:
    again, people = _run(*mayang)
    first, person, duty = result
    assert set(again) == set(first)
    for table in first:
        _assert_same(first[table], again[table])
    person2, duty2 = people.frames()
    pd.testing.assert_frame_equal(person, person2)
    pd.testing.assert_frame_equal(duty, duty2)


def test_another_seed_differs(
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
    frames: dict[str, pd.DataFrame],
) -> None:
    other, _ = _run(*mayang, seed=8)
    assert (
        not other["broadcast_terminal"]
        .geometry.geom_equals(frames["broadcast_terminal"].geometry)
        .all()
    )
    assert list(other["stock"]["quantity"]) != list(frames["stock"]["quantity"])


def test_exact_table_columns_and_geometry(frames: dict[str, pd.DataFrame]) -> None:
    assert set(frames) == set(EXPECTED_COLUMNS)
    for table, columns in EXPECTED_COLUMNS.items():
        assert list(frames[table].columns) == columns, table
        if table in GEO_TABLES:
            frame = frames[table]
            assert isinstance(frame, gpd.GeoDataFrame)
            assert frame.geometry.name == "geom"
            assert frame.crs.to_epsg() == 4326
            assert (frame.geom_type == "Point").all(), table
            assert frame.geometry.is_valid.all() and not frame.geometry.is_empty.any()


def test_ids_and_keys_unique(frames: dict[str, pd.DataFrame]) -> None:
    keys = {
        "facility": ["id"],
        "warehouse": ["id"],
        "shelter": ["id"],
        "rescue_team": ["id"],
        "vehicle": ["id"],
        "broadcast_terminal": ["id"],
        "stock": ["warehouse_id", "item"],
        "team_member": ["team_id", "person_id"],
        "team_equipment": ["team_id", "item"],
        "expert": ["person_id"],
    }
    for table, key in keys.items():
        assert not frames[table].duplicated(key).any(), table
        assert frames[table][key].notna().all().all(), table
    for table in ("facility", "warehouse", "shelter", "rescue_team", "vehicle"):
        assert frames[table]["id"].str.match(rf"^[A-Z]{{2}}{MAYANG}-\d{{3,}}$").all(), table
    assert frames["vehicle"]["plate"].is_unique


def test_check_constraint_value_lists(frames: dict[str, pd.DataFrame]) -> None:
    for (table, column), allowed in ALLOWED.items():
        assert set(frames[table][column]) <= allowed, (table, column)
    for table in ("stock", "team_equipment"):
        assert frames[table]["item"].str.match(ITEM).all()
        assert (frames[table]["quantity"] >= 0).all()
    assert frames["stock"]["item_name"].str.len().gt(0).all()
    assert (frames["warehouse"]["floor_m2"] > 0).all()
    assert (frames["vehicle"]["seats"] >= 0).all() and (frames["vehicle"]["payload_t"] >= 0).all()
    assert (frames["facility"]["occupants"] >= 0).all()
    for table, cols in EXPECTED_COLUMNS.items():
        if "dataset_id" in cols:
            assert (frames[table]["dataset_id"] == f"demo-{MAYANG}").all()


def test_references_resolve(
    result: tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame],
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    frames, person, _ = result
    _, towns, villages = mayang
    people = set(person["id"])
    units = {MAYANG, *towns["code"], *villages["code"]}
    assert person["id"].is_unique
    for table, column in [
        ("warehouse", "manager_id"),
        ("shelter", "manager_id"),
        ("rescue_team", "leader_id"),
        ("team_member", "person_id"),
        ("expert", "person_id"),
        ("duty_shift", "person_id"),
    ]:
        assert set(frames[table][column]) <= people, (table, column)
    assert set(frames["stock"]["warehouse_id"]) <= set(frames["warehouse"]["id"])
    assert set(frames["team_member"]["team_id"]) == set(frames["rescue_team"]["id"])
    assert set(frames["team_equipment"]["team_id"]) == set(frames["rescue_team"]["id"])
    assert set(frames["facility"]["village_code"]) <= set(villages["code"])
    for table, column in [
        ("warehouse", "admin_code"),
        ("shelter", "admin_code"),
        ("rescue_team", "admin_code"),
        ("duty_shift", "org_code"),
    ]:
        assert set(frames[table][column]) <= units, (table, column)
    vehicle = frames["vehicle"]
    assert (vehicle["team_id"].notna() ^ vehicle["warehouse_id"].notna()).all()
    assert set(vehicle["team_id"].dropna()) <= set(frames["rescue_team"]["id"])
    assert set(vehicle["warehouse_id"].dropna()) <= set(frames["warehouse"]["id"])


# --------------------------------------------------------------------------- content


def test_facilities_follow_village_counts(
    frames: dict[str, pd.DataFrame],
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    county, towns, villages = mayang
    fac = frames["facility"]
    per = fac.groupby(["village_code", "kind"]).size().unstack(fill_value=0)
    per = per.reindex(villages["code"], fill_value=0)
    schools = per.get("school", 0) + per.get("kindergarten", 0)
    assert (schools.to_numpy() == villages["schools"].to_numpy()).all()
    assert (per["clinic"].to_numpy() == villages["clinics"].to_numpy()).all()
    hospital = fac[fac["kind"] == "hospital"]
    assert list(hospital["name"]) == [f"{county.name}人民医院"]
    seat = towns.loc[towns["is_seat"], "code"].item()
    seat_villages = set(villages.loc[villages["parent_code"] == seat, "code"])
    special = fac[fac["kind"].isin(["hospital", "nursing_home"])]
    assert len(special) == 2 and set(special["village_code"]) <= seat_villages
    names = dict(zip(villages["code"], villages["name"], strict=True))
    clinics = fac[fac["kind"] == "clinic"]
    assert all(
        n.startswith(names[c])
        for n, c in zip(clinics["name"], clinics["village_code"], strict=True)
    )


def test_three_level_reserve(
    frames: dict[str, pd.DataFrame],
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    county, towns, villages = mayang
    wh = frames["warehouse"]
    assert (wh["level"] == "county").sum() == 1
    assert wh.loc[wh["level"] == "county", "admin_code"].item() == MAYANG
    assert wh.loc[wh["level"] == "county", "name"].item() == f"{county.name}应急物资储备库"
    assert sorted(wh.loc[wh["level"] == "township", "admin_code"]) == sorted(towns["code"])
    village_rooms = wh[wh["level"] == "village"]
    assert sorted(village_rooms["admin_code"]) == sorted(villages["code"])
    names = dict(zip(villages["code"], villages["name"], strict=True))
    assert (
        village_rooms["name"] == village_rooms["admin_code"].map(names) + "应急物资储备点"
    ).all()
    assert wh["manager_id"].notna().all() and wh["manager_id"].is_unique


def test_stock_scales_with_level(frames: dict[str, pd.DataFrame]) -> None:
    stock = frames["stock"].merge(
        frames["warehouse"][["id", "level"]], left_on="warehouse_id", right_on="id"
    )
    items = stock.groupby("level")["item"].agg(set)
    assert "assault_boat" in items["county"]
    assert "assault_boat" not in items["township"] | items["village"]
    assert "wind_fire_extinguisher" not in items["village"]
    assert {"tent", "quilt", "life_jacket", "sandbag"} <= items["township"]
    per_room = stock.groupby(["level", "warehouse_id"]).size()
    assert per_room["village"].max() < per_room["county"].min()
    tents = stock[stock["item"] == "tent"].groupby("level")["quantity"].mean()
    assert tents["county"] > tents["township"] > tents.get("village", 0)
    assert set(zip(stock["item"], stock["unit"], strict=True)) >= {
        ("tent", "顶"),
        ("life_jacket", "件"),
    }


def test_shelters(
    result: tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame],
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    frames, _, duty = result
    _, towns, _ = mayang
    sh = frames["shelter"]
    assert (sh["capacity"] > 0).all()
    assert (sh["occupancy"] >= 0).all() and (sh["occupancy"] <= sh["capacity"]).all()
    assert (sh["area_m2"] >= 1.9 * sh["capacity"]).all()
    assert (sh["area_m2"] <= 3.1 * sh["capacity"]).all()
    seat = towns.loc[towns["is_seat"], "code"].item()
    assert set(sh.loc[sh["kind"] == "open_space", "admin_code"]) == {seat}
    regular = sh[sh["kind"] != "open_space"].groupby("admin_code").size()
    assert sorted(regular.index) == sorted(towns["code"])
    assert regular.between(1, 3).all()
    share = sh.groupby("admin_code")["capacity"].sum() / towns.set_index("code")["population"]
    assert share.between(0.02, 0.25).all() and 0.05 <= share.median() <= 0.15
    managers = duty[duty["role"] == "shelter_manager"]
    assert managers["shelter_id"].tolist() == sh["id"].tolist()
    assert managers["person_id"].tolist() == sh["manager_id"].tolist()


def test_rescue_teams_and_members(
    frames: dict[str, pd.DataFrame],
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    _, towns, _ = mayang
    team = frames["rescue_team"]
    county_teams = team[team["level"] == "county"]
    assert sorted(county_teams["specialty"]) == sorted(COUNTY_SPECIALTIES)
    assert (county_teams["admin_code"] == MAYANG).all()
    township_teams = team[team["level"] == "township"]
    assert (township_teams["specialty"] == "comprehensive").all()
    assert sorted(township_teams["admin_code"]) == sorted(towns["code"])
    members = frames["team_member"]
    size = members.groupby("team_id").size()
    level = team.set_index("id")["level"]
    assert size[level[level == "county"].index].between(15, 40).all()
    assert size[level[level == "township"].index].between(8, 20).all()
    roles = members.groupby(["team_id", "role"]).size().unstack(fill_value=0)
    assert (roles["leader"] == 1).all() and roles["deputy"].between(1, 2).all()
    leaders = members[members["role"] == "leader"].set_index("team_id")["person_id"]
    assert (team.set_index("id")["leader_id"] == leaders.reindex(team["id"])).all()
    assert not members["person_id"].duplicated().any()
    kit = frames["team_equipment"].merge(
        team[["id", "specialty"]], left_on="team_id", right_on="id"
    )
    by = kit.groupby("specialty")["item"].agg(set)
    assert "assault_boat" in by["flood_control"]
    assert "wind_fire_extinguisher" in by["forest_fire"]
    assert "protective_suit" in by["hazardous_chemicals"]


def test_experts(result: tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame]) -> None:
    frames, person, _ = result
    expert = frames["expert"]
    assert 15 <= len(expert) <= 30
    assert expert["specialty"].nunique() >= 6
    orgs = person.set_index("id").loc[expert["person_id"], "org"]
    assert (orgs.to_numpy() == expert["employer"].to_numpy()).all()


def test_vehicles_and_plates(frames: dict[str, pd.DataFrame]) -> None:
    vehicle, team = frames["vehicle"], frames["rescue_team"]
    assert vehicle["plate"].str.match(PLATE).all()
    assert vehicle["plate"].str.startswith("湘N").all()  # Huaihua
    per_team = vehicle.groupby("team_id").size().reindex(team["id"], fill_value=0)
    level = team.set_index("id")["level"]
    assert per_team[level == "county"].between(2, 4).all()
    assert (per_team[level == "township"] == 1).all()
    at_warehouse = vehicle[vehicle["warehouse_id"].notna()]
    assert len(at_warehouse) >= 1 and (at_warehouse["kind"] == "truck").all()


def test_terminals_one_per_village(
    frames: dict[str, pd.DataFrame],
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    _, _, villages = mayang
    bt = frames["broadcast_terminal"]
    assert sorted(bt["village_code"]) == sorted(villages["code"])
    assert bt["endpoint"].str.match(r"^(https?|mqtts?)://").all()
    assert bt["speakers"].between(1, 6).all()
    http = bt[bt["protocol"] != "mqtt"]
    assert (http["endpoint"] == "http://127.0.0.1:8900/broadcast/" + http["village_code"]).all()
    mqtt = bt[bt["protocol"] == "mqtt"]
    expected = "mqtt://127.0.0.1:1883/riskmap/broadcast/" + mqtt["village_code"]
    assert (mqtt["endpoint"] == expected).all()
    share = bt["protocol"].value_counts(normalize=True)
    assert share["http-json"] > 0.5 and 0.1 <= share["ebm-xml"] <= 0.3
    assert 0.03 <= share["mqtt"] <= 0.2
    assert (bt["status"] == "online").mean() > 0.8 and (bt["status"] != "online").any()


def test_broadcast_url_template(
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    frames, _ = _run(*mayang, broadcast_url="https://gb.example.cn/ccx/{code}/play")
    bt = frames["broadcast_terminal"]
    http = bt[bt["protocol"] != "mqtt"]
    assert (http["endpoint"] == "https://gb.example.cn/ccx/" + http["village_code"] + "/play").all()


# --------------------------------------------------------------------------- placement


def test_points_inside_their_units(
    frames: dict[str, pd.DataFrame],
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    county, towns, villages = mayang
    fac = frames["facility"]
    assert _inside(fac.geometry, fac["village_code"], villages).all()
    bt = frames["broadcast_terminal"]
    assert _inside(bt.geometry, bt["village_code"], villages).all()
    sh = frames["shelter"]
    assert _inside(sh.geometry, sh["admin_code"], towns).all()
    seat = towns.loc[towns["is_seat"], "code"].item()
    units = pd.concat([towns[["code", "geometry"]], villages[["code", "geometry"]]])
    units = gpd.GeoDataFrame(units, geometry="geometry", crs=towns.crs)
    for table in ("warehouse", "rescue_team"):
        frame = frames[table]
        where = frame["admin_code"].replace(MAYANG, seat)  # county level: in the seat
        assert _inside(frame.geometry, where, units).all(), table
    vehicle = frames["vehicle"]
    assert shapely.dwithin(county.geometry, vehicle.geometry.to_numpy(), TOLERANCE_DEG).all()


# --------------------------------------------------------------------------- people, roster


def test_village_and_township_duties(
    result: tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame],
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    _, person, duty = result
    _, towns, villages = mayang
    by_unit = duty.dropna(subset=["admin_code"]).groupby(["admin_code", "role"]).size()
    by_unit = by_unit.unstack(fill_value=0)
    vil = by_unit.reindex(villages["code"], fill_value=0)
    assert (vil["village_cadre"] == 1).all()
    assert vil["grid_officer"].between(1, 3).all()
    assert (vil["disaster_info_officer"] == 1).all()
    town = by_unit.reindex(towns["code"], fill_value=0)
    assert (town["township_leader"] == 1).all() and (town["disaster_info_officer"] == 1).all()
    assert not duty.duplicated(["person_id", "role", "admin_code", "shelter_id"]).any()
    home = person.set_index("id")["admin_code"]
    assert (
        home.loc[duty["person_id"]].to_numpy()[duty["admin_code"].notna()]
        == duty["admin_code"].dropna().to_numpy()
    ).all()


def test_all_phone_numbers_valid(
    result: tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame],
) -> None:
    frames, person, _ = result
    assert person["phone"].str.match(PHONE).all()
    shifts = frames["duty_shift"]
    assert shifts["phone"].str.match(PHONE).all()
    assert shifts["phone"].str.match(r"^0745-5\d{6}$").all()  # Huaihua duty-room lines
    assert shifts.groupby("org_code")["phone"].nunique().eq(1).all()
    assert shifts.drop_duplicates("org_code")["phone"].is_unique


def test_duty_roster(
    frames: dict[str, pd.DataFrame],
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    _, towns, _ = mayang
    shifts = frames["duty_shift"]
    assert set(shifts["org_code"]) == {MAYANG, *towns["code"]}
    assert _overlaps(shifts, ["person_id"]) == 0
    held = shifts[shifts["post"].isin(["leader", "chief"])]
    assert _overlaps(held, ["org_code", "post"]) == 0
    lower, upper = _parse_ranges(shifts["shift"])
    assert (upper - lower == pd.Timedelta(days=1)).all()
    assert lower.min() == pd.Timestamp(START)
    assert upper.max() == pd.Timestamp(START + timedelta(days=14))
    assert shifts["shift"].iloc[0] == "[2026-07-01T00:00:00+00:00,2026-07-02T00:00:00+00:00)"
    days = shifts.assign(day=lower).groupby(["org_code", "day", "post"]).size().unstack()
    assert len(days) == 14 * (1 + len(towns))
    assert (days["leader"] == 1).all() and (days["chief"] == 1).all()
    assert days["officer"].between(1, 2).all()


def test_roster_in_beijing_time_is_same_instants(
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
    frames: dict[str, pd.DataFrame],
) -> None:
    county, towns, villages = mayang
    people = People(county.code, "x", np.random.default_rng(7))
    beijing = START.astimezone(timezone(timedelta(hours=8)))  # 08:00 Beijing time
    other = make_resources(
        county, towns, villages, people, seed=7, dataset_id="x", roster_start=beijing
    )
    assert other["duty_shift"]["shift"].tolist() == frames["duty_shift"]["shift"].tolist()


def test_naive_roster_start_rejected(
    mayang: tuple[AdminOutline, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    county, towns, villages = mayang
    people = People(county.code, "x", np.random.default_rng(0))
    with pytest.raises(ValueError, match="timezone"):
        make_resources(
            county,
            towns,
            villages,
            people,
            seed=1,
            dataset_id="x",
            roster_start=datetime(2026, 7, 1),
        )


def test_hengyang_plates_and_area_code() -> None:
    county, towns, villages = _inputs("430421", 40)  # 衡阳县
    frames, _ = _run(county, towns, villages)
    assert frames["vehicle"]["plate"].str.startswith("湘D").all()
    assert frames["duty_shift"]["phone"].str.startswith("0734-").all()
    assert frames["warehouse"]["id"].str.startswith("WH430421-").all()


# --------------------------------------------------------------------------- scale
# How fast the generator runs is the bulk bench's (`make bench`: demo generation at 25,000
# villages), not a timed test; here only that a province-sized county comes out whole.


def test_scales_to_25000_villages() -> None:
    county, towns, villages = _inputs(MAYANG, 25_000)
    assert len(towns) == 300
    frames, _ = _run(county, towns, villages)
    assert len(frames["broadcast_terminal"]) == 25_000
    assert len(frames["warehouse"]) == 1 + 300 + 25_000
    assert frames["vehicle"]["plate"].is_unique
    assert _overlaps(frames["duty_shift"], ["person_id"]) == 0


def test_a_seat_that_barely_touches_the_river_gets_no_zero_length_dike() -> None:
    import geopandas as gpd
    import shapely

    from riskmap.geo.demo.hydro import CRS, dikes

    rivers = gpd.GeoDataFrame(
        {"name": ["锦江"], "strahler": [4]},
        geometry=[shapely.LineString([(109.0, 27.0), (109.1, 27.0)])],
        crs=CRS,
    )
    corner = shapely.box(109.09999, 26.99, 109.2, 27.01)  # crosses the last metre of the river
    none = dikes(rivers, corner, county_code="431226", dataset_id="t")
    assert len(none) == 0
    seat = shapely.box(109.02, 26.99, 109.06, 27.01)
    two = dikes(rivers, seat, county_code="431226", dataset_id="t")
    assert len(two) == 2 and (two.length_km > 0).all()
