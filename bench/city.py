"""City size: the rules, the vector tiles and the warning list with a whole city loaded.

One database on the benchmark's server holds 衡阳市 (4304) as ``riskmap demo --city 4304``
leaves it: ``load_city`` loads its 12 county-level units (~2,200 villages, each county its own
dataset), replays the storm over its largest county alone (``confine``: the others stay dry),
placed to end at the current hour, and runs the rules hour by hour through its 14 hours; then
every county's risk maps are built on its own DEM (``build_counties``, as ``riskmap risk
build``) and every candidate warning is issued, as the warning-list bench does for the county.

On it run the same measures against the same peers as the county benches, through their own
code (``rules_speed.measure``, ``tiles.measure``, ``warnings_latency.measure``), so the report
reads county (the benches above) against city (the lines here). The rules are timed 10 hours
into the storm, as on the county. Each measure checks that it does real work: the rules see
every village of the city and fire in the storm county only; the issued warnings lie in the
storm county only and some are in force; the zoom-14 tile over a village of every county
carries that village with its risk level; the public warning list is not empty.

``BENCH_QUICK=1``: two of its counties (a smaller storm county, 衡山县, and the smallest), not
twelve, built in the set-up beside the demo county's (bench/fixtures.py); its ``riskmap serve``
(for the tiles and the warning list) and the warning list's static-file peer started at the
end of the set-up (bench/served.py). Being smaller than the demo county, the quick city
checks its tiles' data (no tipg, no wrk passes: the tiles bench has them) and measures the
warning list paced only (the target's pass).

Run alone: ``python -m bench city`` (its own throwaway cluster, as ``make bench``); about five
minutes on two cores, two of them loading the city.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from tempfile import mkdtemp

import psycopg

from bench import fixtures, rules_speed, served, tiles, warnings_latency
from bench.common import free_port, with_db
from bench.databases import create_database, drop_database
from bench.results import Row, quick, record

CITY = "4304"


@dataclass(frozen=True)
class City:
    """The loaded city: its database (socket and TCP URLs), counties and storm county."""

    db: str
    db_tcp: str
    counties: list[str]
    villages: int
    storm_county: str
    rules_at: datetime

    @property
    def label(self) -> str:
        return f"city ({len(self.counties)} counties, {self.villages:,} villages)"

    def county_of(self, village_codes) -> set[str]:
        return {v[:6] for v in village_codes}


def build(db: str, db_tcp: str, data: Path) -> tuple[City, str]:
    """Fill the (new, migrated) city database ``db`` (``data``: a folder for the generated
    files); the city and a line saying what it took."""
    from rich.console import Console

    from riskmap.api.cli.common import DEFAULT_SEED
    from riskmap.api.cli.demo_city import load_city
    from riskmap.geo.demo.scenario import DEFAULT_START
    from riskmap.geo.risk.counties import build_counties
    from riskmap.geo.settings import Settings

    settings = Settings(data_dir=data, rules_dir=None)
    only = _quick_counties(settings) if quick() else None
    t0 = time.perf_counter()
    # the storm placed to end at the current hour, as the demo does: its warnings in force now
    # (the public list shows those only; the bundled July date has long expired)
    summary = load_city(
        settings, db, CITY, None, DEFAULT_SEED, Console(quiet=True), only=only, with_scenario=True
    )
    t1 = time.perf_counter()
    with psycopg.connect(db) as conn:
        runs = build_counties(conn, cache_dir=data / "cache")
        t2 = time.perf_counter()
        warnings_latency.issue_candidates(conn)
        issued, in_force, in_counties = conn.execute(_ISSUED).fetchone()
        counties = [r[0] for r in conn.execute(_COUNTIES)]
        villages = conn.execute("SELECT count(*) FROM village").fetchone()[0]
    storm = summary.storm.county_code
    assert len(counties) == len(summary.counties) == (len(only) if only else 12), counties
    assert runs.villages == villages and not runs.no_dem, (runs.villages, villages, runs.no_dem)
    assert in_force > 0 and set(in_counties) == {storm}, (in_force, in_counties)
    # the rules timed as rules_speed times them on the county: 10 hours into the storm
    at = summary.storm.storm_start + (rules_speed.AT - DEFAULT_START)
    city = City(db, db_tcp, counties, villages, storm, at)
    return city, (
        f"{city.label} loaded in {t1 - t0:.0f} s (storm replayed over {storm} alone, rules run"
        f" through its 14 hours), risk maps of every county in {t2 - t1:.0f} s; {issued}"
        f" issued warnings ({in_force} in force now), all in {storm} (checked)"
    )


def _quick_counties(settings) -> list[str]:
    """The quick run's part of the city: a smaller storm county and the smallest, so one stays
    dry and the checks still mean something. The storm county (the larger of the two, as
    ``load_city`` picks it) is the smallest whose area is at least a third of the largest's
    (衡山县, 144 villages with the smallest: 388 with the largest, 耒阳市, which took half as long
    again to build), a county with its rivers rather than an urban district."""
    from riskmap.geo.demo.city import city_counties

    _, units = city_counties(CITY, settings.boundaries_path)
    by_area = sorted(units, key=lambda u: u.geometry.area)
    largest = by_area[-1].geometry.area
    storm = next(u for u in by_area if u.geometry.area >= largest / 3)
    return [storm.code, by_area[0].code]


_COUNTIES = "SELECT DISTINCT left(code, 6) FROM village ORDER BY 1"
# issued warnings, those in force now (what the public list shows), the counties they cover
_ISSUED = """
    SELECT count(*), count(*) FILTER (WHERE expires_at > now()),
           (SELECT coalesce(array_agg(DISTINCT left(c, 6)), '{}') FROM warning,
                   unnest(village_codes) c WHERE status = 'issued')
    FROM warning WHERE status = 'issued'
"""


def _quick_tiles(city: City, port: int, proc, check, scope: str) -> str:
    """The quick run's city tiles: outlines rebuilt as after a load, then ``check`` against the
    city's server (its cache still empty), recorded as a row (the rates and p99s are the county
    bench's: the quick city is smaller than the demo county)."""
    from riskmap.api.users import add_user, new_token

    with psycopg.connect(city.db, autocommit=True) as conn:
        conn.execute("SELECT tile_refresh(%s)", [city.counties])
        add_user(conn, "bench-tiles", "viewer")
        token = new_token(conn, "bench-tiles", label="bench")
    base = f"http://127.0.0.1:{port}"
    tiles._wait_ready(f"{base}/healthz", proc)
    line = check(base, {"Authorization": f"Bearer {token}"})
    record(
        Row(
            "city",
            f"{scope}zoom-14 tile over a village of every county carries its risk level",
            len(city.counties),
            "counties",
            note="quick run: the tile rates are the county bench's",
            target=f"all {len(city.counties)}",
            passed=True,  # the check raises otherwise (a failed row)
        )
    )
    return line


def _tile_check(city: City):
    """A check for ``tiles.measure``: for one village of every county, the zoom-14 tile over it
    (from our server) carries that village with its risk level."""

    def check(base: str, headers: dict[str, str]) -> str:
        import httpx
        import mapbox_vector_tile
        import morecantile

        tms = morecantile.tms.get("WebMercatorQuad")
        with psycopg.connect(city.db) as conn:
            picks = conn.execute(_ONE_VILLAGE_PER_COUNTY).fetchall()
        assert sorted(code[:6] for code, _, _ in picks) == city.counties, picks
        for code, lon, lat in picks:
            t = tms.tile(lon, lat, 14)
            r = httpx.get(f"{base}/tiles/villages/{t.z}/{t.x}/{t.y}.mvt", headers=headers)
            assert r.status_code == 200 and r.content, (code, r.status_code)
            layer = mapbox_vector_tile.decode(r.content)["villages"]
            mine = [f for f in layer["features"] if f["properties"]["code"] == code]
            assert mine and mine[0]["properties"].get("risk") is not None, (code, t)
        return (
            f"the zoom-14 tile over a village of each of the {len(picks)} counties carries it"
            " with its risk level (checked)"
        )

    return check


# a village of each county (the first by code) and a point inside it
_ONE_VILLAGE_PER_COUNTY = """
    SELECT DISTINCT ON (left(v.code, 6)) v.code, ST_X(p), ST_Y(p)
    FROM village v CROSS JOIN LATERAL ST_PointOnSurface(v.geom) p
    ORDER BY left(v.code, 6), v.code
"""


def build_new(url: str, tcp_url: str, data: Path) -> tuple[str, City, str]:
    """A new city database on ``url``'s server, filled (:func:`build`; ``data``: a folder for
    its files); (its name, the city, the line). The quick run's set-up runs it in a process of
    its own while the demo county's template is built in another (bench/fixtures.py)."""
    name = f"bench_city_{uuid.uuid4().hex[:8]}"
    db = create_database(url, name)
    city, line = build(db, with_db(tcp_url, name), data)
    return name, city, line


def run(url: str, tcp_url: str) -> Iterator[str]:
    """Yield report lines: the city's load, then the rules, tiles and warning-list measures."""
    built = fixtures.result("city")  # the quick run's set-up built it already
    data = Path(mkdtemp(prefix="riskmap-bench-city-"))
    os.chmod(data, 0o755)
    name = built[0] if built else f"bench_city_{uuid.uuid4().hex[:8]}"
    ours = None  # the quick run's one riskmap serve over the city
    try:
        if built:
            name, city, line = built
            line += " (in the set-up, beside the demo county's)"
        else:
            db = create_database(url, name)
            city, line = build(db, with_db(tcp_url, name), data)
        yield line

        def rules_check(villages: int, proposals) -> str:
            fired = city.county_of(v for p in proposals for v in p.village_codes)
            assert villages == city.villages, (villages, city.villages)
            assert proposals and fired == {city.storm_county}, fired
            return f"fired in {city.storm_county} only (checked)"

        scope = f"{city.label}: "
        for line in rules_speed.measure(
            city.db, city.rules_at, check=rules_check, bench="city", scope=scope
        ):
            yield f"{city.label} rules: {line}"
        check = _tile_check(city)
        if quick():  # one riskmap serve for the tiles and the warning list (tiles waits for it)
            early = served.take("city") if built else None  # started in the set-up
            if early is not None:
                port, ours = early[0].port, early[0].proc
            else:
                port, log = free_port(), data / "serve.log"
                ours = served.start_instance(port, served.instance_env(city.db, data), log)
        if quick():  # the tiles' data checked; their speed is the county bench's, same size
            yield f"{city.label} tiles: {_quick_tiles(city, port, ours, check, scope)}"
        else:
            for line in tiles.measure(
                city.db,
                city.db_tcp,
                city.counties,
                check=check,
                bench="city",
                scope=scope,
                ours=None if ours is None else (f"http://127.0.0.1:{port}", ours),
            ):
                yield f"{city.label} tiles: {line}"
        for line in warnings_latency.measure(
            city.db,
            bench="city",
            scope=scope,
            ours=None if ours is None else (port, ours),
            peer=served.take("city-static") if built else None,
            paced_only=quick(),
        ):
            yield f"{city.label} warning list: {line}"
    finally:
        if ours is not None:
            ours.terminate()
            ours.wait(30)
        drop_database(url, name)
        shutil.rmtree(data, ignore_errors=True)
