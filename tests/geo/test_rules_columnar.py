"""The columnar rules engine (issue 19) proposes exactly what the engine before it proposed.

The oracle is the previous implementation, frozen under tests/geo/rules_oracle (one dict of
evidence per village, texts rendered from those dicts). Compared on the demo county with its
storm replayed (rain, river and reservoir gauges, hazard points, geohazard risk areas) plus
random hotspots, fire danger and an earthquake, at several times, and with upstream CAP alerts
(the previous engine's inputs too: tests/geo/rules_oracle/inputs.py); and the texts alone on random
evidence (NULLs, integers, strings, mixed and unknown levels) for every built-in rule and level.
Also: the villages kept between runs follow renames (migration 0055), compiled rule files follow
their content, and the evidence table behaves as the dict it replaces (JSON included).
"""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from lxml import etree

from riskmap.geo.rules import load_rules, run_rules
from riskmap.geo.rules.evidence import EvidenceTable
from riskmap.geo.rules.load import BUILTIN_DIR, load_file
from riskmap.geo.rules.render import TextRenderer, render_texts
from riskmap.geo.rules.villages import Villages, fetch_villages
from riskmap.geo.vocabulary import COLOURS
from riskmap.geo.warnings import store
from tests.conftest import clone_database, drop_database
from tests.geo import test_rules_cap_verified as cap
from tests.geo.rules_oracle import render as old_render
from tests.geo.rules_oracle.engine import run_rules as old_run_rules

PEAK = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
TIMES = [PEAK - timedelta(hours=6), PEAK - timedelta(hours=2), PEAK, PEAK + timedelta(hours=5)]


def assert_same(new: list, old: list) -> None:
    """Every field of every proposal equal (the renderer aside), evidence village by village
    with its keys in the same order."""
    assert [(p.rule_id, p.colour) for p in new] == [(p.rule_id, p.colour) for p in old]
    for a, b in zip(new, old, strict=True):
        for f in dataclasses.fields(a):
            if f.name not in ("render", "evidence"):
                assert getattr(a, f.name) == getattr(b, f.name), (a.rule_id, a.colour, f.name)
        assert list(a.evidence) == list(b.evidence) == list(a.village_codes)
        for code in b.evidence:
            assert a.evidence[code] == b.evidence[code]
            assert list(a.evidence[code]) == list(b.evidence[code])  # key order too
        assert a.evidence == b.evidence and dict(a.evidence.items()) == b.evidence


@pytest.fixture(scope="module")
def stormy(pg_cluster, storm_url: str):
    """A copy of the storm's database with random hotspots, fire danger and an earthquake."""
    url = clone_database(pg_cluster, storm_url, prefix="t_columnar")
    rng = random.Random(19)
    with psycopg.connect(url) as conn:
        villages = conn.execute(
            "SELECT code, ST_X(label_point), ST_Y(label_point) FROM village ORDER BY code"
        ).fetchall()
        for _, lon, lat in rng.sample(villages, 25):
            for _ in range(rng.randint(1, 3)):
                sat = rng.choice(["N", "T", "N20"])
                modis = sat == "T"  # MODIS gives a percentage, VIIRS a class
                conn.execute(
                    "INSERT INTO hotspot (satellite, instrument, acquired_at, longitude,"
                    " latitude, brightness_k, confidence_pct, confidence_class)"
                    " VALUES (%s, %s, %s, %s, %s, 330, %s, %s)",
                    [
                        sat,
                        "MODIS" if modis else "VIIRS",
                        PEAK - timedelta(hours=rng.uniform(0, 20)),
                        round(lon + rng.uniform(-0.03, 0.03), 5),
                        round(lat + rng.uniform(-0.03, 0.03), 5),
                        rng.choice([20, 80]) if modis else None,
                        None if modis else rng.choice(["low", "nominal", "high"]),
                    ],
                )
        for code, _, _ in rng.sample(villages, 15):
            conn.execute(
                "INSERT INTO fire_danger (area_code, level, valid_from, valid_to, area_key)"
                " VALUES (%s, %s, %s, %s, %s)",
                [code, rng.randint(3, 5), PEAK - timedelta(days=1), PEAK + timedelta(days=1), code],
            )
        _, lon, lat = rng.choice(villages)
        conn.execute(
            "INSERT INTO earthquake (event_id, source, origin_time, magnitude, geom)"
            " VALUES ('t19', 'usgs-geojson', %s, 6.1, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            [PEAK - timedelta(hours=3), lon + 0.1, lat],
        )
    yield url
    drop_database(pg_cluster, url)


@pytest.mark.parametrize("at", TIMES, ids=lambda t: t.strftime("%H%M"))
def test_the_same_proposals_as_the_previous_engine(stormy: str, at: datetime) -> None:
    with psycopg.connect(stormy) as conn:
        new = run_rules(conn, at)
        old = old_run_rules(conn, at)
        again = run_rules(conn, at)  # villages and rule files kept from the first run
    assert_same(new, old)
    assert_same(again, old)
    fired = {p.rule_id for p in new}  # the comparison saw real work at every time
    assert {"forest_fire.danger_hotspot", "geohazard.regional_risk", "upstream.cap_relay"} <= fired
    if at == PEAK - timedelta(hours=2):  # forecast rain, rivers, the earthquake
        assert {"flash_flood.forecast", "river.stage", "earthquake.intensity"} <= fired
    if at == PEAK:  # observed rain, rivers and reservoirs
        assert {"rainstorm.observed", "flash_flood.observed", "reservoir.level"} <= fired
        assert sum(len(p.village_codes) for p in new) > 900


def test_the_same_relay_of_upstream_cap_alerts(stormy: str, tmp_path: Path) -> None:
    """A Chinese alert and Environment Canada's bilingual one over the county: the relay's
    labels (event, issuer, headline in the source's languages) as the previous engine had them."""
    with psycopg.connect(stormy) as conn:
        west, east = cap.strips(conn, 2)
        cap.ingest(conn, tmp_path, "eccc.xml", cap.eccc_alert(west))
        cap.ingest(conn, tmp_path, "zh.xml", etree.tostring(cap.zh_alert("ZH-19", east)))
        new = run_rules(conn, cap.AT)
        old = old_run_rules(conn, cap.AT)
        conn.rollback()
    assert_same(new, old)
    assert {p.rule_id for p in new} == {"upstream.cap_relay"}


def test_texts_rendered_again_by_the_lifecycle_are_the_previous_engines(stormy: str) -> None:
    """The renderer each proposal carries gives the old texts for a part of its area and for
    its evidence as plain dicts (what the lifecycle hands it back)."""
    with psycopg.connect(stormy) as conn:
        new = run_rules(conn, PEAK)
        old = old_run_rules(conn, PEAK)
    for a, b in zip(new, old, strict=True):
        part = list(b.village_codes)[::2]
        plain = {c: dict(b.evidence[c]) for c in part}
        assert a.render(part, plain) == b.render(part, plain)
        assert a.render(a.village_codes, a.evidence) == b.render(b.village_codes, b.evidence)


def _random_evidence(compiled, colour: str, codes: list[str], rng: np.random.Generator) -> dict:
    """Evidence as the lifecycle may hold it: numbers with NULLs, integers and strings among
    them, labels, and levels of every colour (and one that is none)."""
    out = {}
    for code in codes:
        ev: dict[str, object] = {}
        for v in compiled.variables:
            r = rng.random()
            if r < 0.2:
                continue
            x = float(np.round(rng.uniform(-5, 400), rng.integers(0, 4)))
            if rng.random() < 0.5:  # a few round values: triggers tie on how far over they are
                x = float(rng.choice([0.0, 1.0, 2.0, 3.0, 25.0, 50.0, 100.0, 200.0]))
            ev[v] = int(x) if r < 0.3 else ("12.5" if r < 0.32 else x)
        for label in compiled.labels:
            if rng.random() < 0.7:
                ev[label] = rng.choice(["麻阳站", "锦江", "None", " ", "Terra卫星", "7月14日10时"])
        r = rng.random()
        if r < 0.85:
            ev["level"] = rng.choice(COLOURS) if r < 0.4 else colour
        elif r < 0.9:
            ev["level"] = "purple"
        out[code] = ev
    return out


def test_texts_from_random_evidence_are_the_previous_engines() -> None:
    rng = np.random.default_rng(20261207)
    codes = [f"431226{i:06d}" for i in range(60)]
    names = [f"村{i % 17}" for i in range(60)]  # repeated names, as clones have
    counties = ["麻阳苗族自治县", "", "芷江侗族自治县", "None"] * 15
    at = datetime(2026, 7, 14, 2, 5, tzinfo=UTC)
    rules = load_rules([])
    cases = 0
    for compiled in rules:
        for colour in compiled.rule.levels:
            for n in (0, 1, 3, 60):
                evidence = _random_evidence(compiled, colour, codes[:n], rng)
                args = (compiled, colour, codes[:n], names[:n], counties[:n], evidence, at)
                assert render_texts(*args) == old_render.render_texts(*args), compiled.id
                cases += 1
    assert cases > 100


def test_texts_from_the_evidence_table_equal_those_from_its_dicts() -> None:
    """The engine's path (columns) and the dict path agree on values at the edges: NaN and
    infinite numbers, None labels, rounding ties."""
    rng = np.random.default_rng(5)
    n = 40
    codes = np.array(sorted(f"4312261{i:05d}" for i in range(n)))
    villages = Villages(
        codes=codes,
        names=np.array([f"村{i % 7}" for i in range(n)], dtype=object),
        counties=np.array(["麻阳苗族自治县", None, "芷江侗族自治县", ""] * (n // 4), dtype=object),
    )
    at = datetime(2026, 7, 14, 10, tzinfo=UTC)
    for compiled in load_rules([]):
        for colour in compiled.rule.levels:
            idx = np.sort(rng.choice(n, size=25, replace=False))
            numbers = {}
            for v in compiled.variables:
                a = rng.uniform(0, 300, 25)
                a[rng.random(25) < 0.2] = np.nan
                a[rng.random(25) < 0.05] = np.inf
                a[rng.random(25) < 0.1] = 2.675  # a rounding tie
                numbers[v] = a
            labels = {
                lb: np.array([rng.choice([None, "麻阳站", "锦江"]) for _ in idx], dtype=object)
                for lb in compiled.labels
            }
            table = EvidenceTable(
                codes[idx].tolist(), idx, villages, numbers, labels, "x > 1", colour
            )
            renderer = TextRenderer(compiled, colour, villages, at)
            plain = {c: table[c] for c in table}
            old = old_render.TextRenderer(compiled, colour, villages, at)
            assert renderer.table(table) == old(table.codes, plain) == renderer(table.codes, plain)


def test_the_evidence_table_is_the_dict_it_replaces() -> None:
    villages = Villages(
        codes=np.array(["431226001", "431226002", "431226003"]),
        names=np.array(["甲", "乙", "丙"], dtype=object),
        counties=np.array(["麻阳", "麻阳", "麻阳"], dtype=object),
    )
    table = EvidenceTable(
        ["431226001", "431226003"],
        np.array([0, 2]),
        villages,
        {"rain_3h": np.array([51.25, np.nan]), "rain_3h_threshold": np.array([np.inf, 40.0])},
        {"rain_3h_station": np.array(["麻阳站", None], dtype=object)},
        "rain_3h >= 50",
        "orange",
    )
    expected = {
        "431226001": {
            "rain_3h": 51.25,
            "rain_3h_threshold": float("inf"),
            "rain_3h_station": "麻阳站",
            "condition": "rain_3h >= 50",
            "level": "orange",
        },
        "431226003": {"rain_3h_threshold": 40.0, "condition": "rain_3h >= 50", "level": "orange"},
    }
    assert table == expected and expected == table and len(table) == 2
    assert "431226002" not in table and table.get("431226002") is None and 7 not in table
    with pytest.raises(KeyError):
        table["431226002"]
    merged: dict = {}
    merged.update(table)
    assert merged == expected and {**table} == expected
    assert json.loads(store._jsonb({"villages": table}).dumps({"villages": table})) == json.loads(
        json.dumps({"villages": expected})
    )


def test_kept_villages_follow_renames_of_villages_and_counties(mayang, conn) -> None:
    code, county = conn.execute(
        "SELECT code, county_code FROM village ORDER BY code LIMIT 1"
    ).fetchone()
    first = fetch_villages(conn)
    assert fetch_villages(conn) is first  # kept while nothing changed
    conn.execute("UPDATE admin_unit SET population = population WHERE code = %s", [code])
    assert fetch_villages(conn) is first  # a figure the engine does not read: still kept
    conn.execute("UPDATE admin_unit SET name = '新名村' WHERE code = %s", [code])
    renamed = fetch_villages(conn)
    assert renamed is not first
    assert renamed.names[renamed.codes.tolist().index(code)] == "新名村"
    conn.execute("UPDATE admin_unit SET name = '新县' WHERE code = %s", [county])
    moved = fetch_villages(conn)
    assert moved.counties[moved.codes.tolist().index(code)] == "新县"


def test_compiled_rule_files_follow_their_content(tmp_path: Path) -> None:
    source = (BUILTIN_DIR / "rainstorm.yaml").read_text(encoding="utf-8")
    path = tmp_path / "site.yaml"
    path.write_text(source, encoding="utf-8")
    first = load_file(path)
    assert [r.rule for r in load_file(path)] == [r.rule for r in first]
    path.write_text(source.replace('version: "', 'version: "9.', 1), encoding="utf-8")
    changed = load_file(path)
    assert changed[0].rule.version.startswith("9.")
    assert changed[0].rule.version != first[0].rule.version
