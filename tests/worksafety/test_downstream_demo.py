"""The demo county's tailings dam: its downstream path and villages computed from the demo DEM
and stored; the village the generator placed below the dam is among them."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from riskmap.geo.errors import NotFoundError
from riskmap.geo.risk.catalogue import catalogued_dem
from riskmap.geo.worksafety.downstream_store import compute_downstream, downstream_villages
from tests.conftest import clone_database, drop_database


@pytest.fixture(scope="module")
def dam_url(pg_cluster, storm_url):
    url = clone_database(pg_cluster, storm_url, prefix="t_wsdown")
    yield url
    drop_database(pg_cluster, url)


def test_demo_dam_reaches_the_village_the_generator_put_below_it(dam_url: str) -> None:
    with psycopg.connect(dam_url) as conn:
        dem = catalogued_dem(conn)
        (result,) = compute_downstream(conn, dem)
        below, height = conn.execute(
            "SELECT details ->> 'village_below', (details ->> 'dam_height_m')::float"
            " FROM hazardous_site WHERE id = %s",
            [result.site_id],
        ).fetchone()
        stored = downstream_villages(conn, result.site_id)
        path = conn.execute(
            "SELECT stop_reason, length_m, crest_elevation_m - toe_elevation_m,"
            " ST_NPoints(geom) FROM ws_site_downstream_path WHERE site_id = %s",
            [result.site_id],
        ).fetchone()
        conn.commit()
    print(below, [(v["name"], v["village_code"], round(v["distance_m"])) for v in stored], path)
    codes = [v["village_code"] for v in stored]
    assert below in codes
    assert [v["ord"] for v in stored] == list(range(1, len(stored) + 1))
    distances = [v["distance_m"] for v in stored]
    assert distances == sorted(distances) and distances[-1] <= 10_000
    assert all(v["below_crest_m"] > 0 and v["offset_m"] <= 300 for v in stored)
    assert path[0] in ("distance", "edge") and 0 < path[1] <= 10_000
    assert path[2] == pytest.approx(height)  # crest = toe + details.dam_height_m
    # the demo puts the dam on a cell centre: the line is the cells' centres, toe first
    assert path[3] == len(result.path.cells)


def test_unknown_dam_is_refused(dam_url: str) -> None:
    with psycopg.connect(dam_url) as conn, pytest.raises(NotFoundError, match="not a tailings"):
        compute_downstream(conn, catalogued_dem(conn), site_id="HS-nope")


def test_cli_computes_one_dam_with_its_options(dam_url: str) -> None:
    with psycopg.connect(dam_url) as conn:
        q = "SELECT id FROM hazardous_site WHERE kind = 'tailings_dam'"
        (sid,) = conn.execute(q).fetchone()
        dem = catalogued_dem(conn)
    env = {**os.environ, "RISKMAP_DATABASE_URL": dam_url}
    args = ["sites", "downstream", "--site", sid, "--dem", str(dem), "--distance", "2000"]
    done = subprocess.run(
        [sys.executable, "-m", "riskmap.api.cli", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with psycopg.connect(dam_url) as conn:
        length, limit = conn.execute(
            "SELECT length_m, max_distance_m FROM ws_site_downstream_path WHERE site_id = %s",
            [sid],
        ).fetchone()
        far = conn.execute(
            "SELECT max(distance_m) FROM ws_site_downstream WHERE site_id = %s", [sid]
        ).fetchone()[0]
    assert limit == 2000 and length <= 2000 and far <= 2000
    assert f"{sid} " in done.stdout and "villages" in done.stdout
