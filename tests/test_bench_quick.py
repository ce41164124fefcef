"""The quick bench run (``make bench QUICK=1``, issue 19: under two minutes): its loads are
shorter and its sizes smaller than the full run's, which stays as it was; the shared set-up
builds only what the benches asked for; the CPU sample of a short load fits inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import fixtures
from bench.cpu_sample import CpuSample

ROOT = Path(__file__).resolve().parents[1]

# module attribute → (the full run's value, written here from the bench's history: the full
# run must not change; the quick run's must be smaller)
FULL = {
    "bench.tiles.WRK_SECONDS": 10,
    "bench.tiles.CHANGING_S": 10,
    "bench.tiles.FIRST_CHANGE_S": None,
    "bench.tiles.PER_ZOOM_MAX": 600,
    "bench.warnings_latency.DURATION_S": 15.0,
    "bench.warnings_latency.WARM_S": 3.0,
    "bench.warnings_latency.COLD_S": 10.0,
    "bench.warnings_latency.SQL_REPEATS": 200,
    "bench.instances.SECONDS": 10,
    "bench.instances.WARM_S": 4,
    "bench.instances.ROUNDS": 2,
    "bench.web.REPEATS": 3,
    "bench.web.PAN_SECONDS": 5.0,
    "bench.web.PAN_AFTER_LOAD": False,
    "bench.web.WARM": True,
    "bench.web.PAGES": {"console": "/", "wall": "/wall", "resources": "/resources"},
    "bench.delivery.THROUGHPUT_TERMINALS": 25_000,
    "bench.delivery.HAZARDS": [f"bench_latency_{i}" for i in range(1, 6)],
    "bench.writes_under_load.ROUNDS": 16,
    "bench.writes_under_load.RAMP_S": 1.5,
    "bench.writes_under_load.TILES_ALONE_S": 10,
    "bench.writes_under_load.TILES_WARM_S": 3,
    "bench.writes_under_load.CYCLES": 4,
    "bench.writes_under_load.MEASURED": {
        "writes first": {},
        "protection off": {"tile_write_pause_ms": "0"},
    },
}


def _values(quick: bool) -> dict[str, object]:
    """The parameters as a fresh process sees them with or without BENCH_QUICK."""
    code = (
        "import importlib, json, sys\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    module, attr = name.rsplit('.', 1)\n"
        "    out[name] = getattr(importlib.import_module(module), attr)\n"
        "print(json.dumps(out))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    if quick:
        env["BENCH_QUICK"] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", code, *FULL],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)


def test_full_run_parameters_unchanged() -> None:
    assert _values(quick=False) == FULL


def test_quick_run_is_smaller_and_shorter() -> None:
    quick = _values(quick=True)
    for name, full in FULL.items():
        small = quick[name]
        if name == "bench.tiles.FIRST_CHANGE_S":  # the first data change soon after the start
            assert small == 0.5
        elif name == "bench.web.PAN_AFTER_LOAD":  # no page loaded again just to pan it
            assert small is True
        elif name == "bench.web.WARM":  # cold loads only
            assert small is False
        elif name == "bench.web.PAGES":  # the console and the wall
            assert small == {"console": "/", "wall": "/wall"}
        elif name == "bench.delivery.HAZARDS":  # 3 warnings for the latency, not 5
            assert small == full[:3]
        elif name == "bench.writes_under_load.MEASURED":  # the product as configured only
            assert small == {"writes first": {}}
        else:
            assert small < full, (name, small, full)
    # a data change every 2 s is still seen twice in the quick pass (at 0.5 s and 2.5 s)
    assert quick["bench.tiles.CHANGING_S"] >= quick["bench.tiles.FIRST_CHANGE_S"] + 2.0
    assert quick["bench.tiles.WRK_SECONDS"] >= 1  # wrk counts whole seconds


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([], {"tipg", "floor", "storm", "city", "delivery", "numba"}),  # every bench
        (["stations"], set()),
        (["tiles"], {"tipg", "storm"}),
        (["city"], {"tipg", "city"}),
        (["web", "writes"], {"floor", "storm", "numba"}),
        (["delivery", "archive"], {"delivery", "numba"}),
    ],
)
def test_setup_only_for_the_benches_asked(names: list[str], expected: set[str]) -> None:
    assert {s for s in fixtures.NEEDS if fixtures.wanted(s, names)} == expected


def test_cpu_sample_of_a_short_load_ends_inside_it() -> None:
    """A 1 s load: the sample's window lies inside the second (it once began after 1 s, when
    the load had ended) and still sees this process busy."""
    started = time.monotonic()
    sample = CpuSample({"load": [os.getpid()]}, 1.0)
    spent = 0
    while time.monotonic() - started < 1.0:  # busy: the "load" group's CPU
        spent += 1
    cores = sample.result()
    assert time.monotonic() - started < 1.4  # (it took 1.5 s: 1 s lead + 0.5 s window)
    assert cores["load"] > 0.05, cores  # (a shared machine gives the loop a part of a core)


def test_renice_tree_lowers_a_server_and_its_workers() -> None:
    """tipg starts at the usual priority and, once it answers, runs at riskmap's workers'
    niceness (bench/tiles.py): the whole tree (uvicorn's workers are its children)."""
    from bench.servers import renice_tree

    child = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"  # noqa: E501
    parent = subprocess.Popen([sys.executable, "-c", child])
    try:
        kids: list[int] = []
        deadline = time.monotonic() + 20
        while not kids and time.monotonic() < deadline:
            kids = [
                int(p.name)
                for p in Path("/proc").iterdir()
                if p.name.isdigit() and _parent_of(p) == parent.pid
            ]
            time.sleep(0.05)
        assert kids, "the child never started"
        before = os.getpriority(os.PRIO_PROCESS, parent.pid)
        renice_tree(parent.pid, before + 5)
        assert os.getpriority(os.PRIO_PROCESS, parent.pid) == before + 5
        assert [os.getpriority(os.PRIO_PROCESS, k) for k in kids] == [before + 5] * len(kids)
    finally:
        for p in Path("/proc").iterdir():  # the grandchild first, then the child
            if p.name.isdigit() and _parent_of(p) == parent.pid:
                os.kill(int(p.name), 9)
        parent.kill()
        parent.wait(10)


def _parent_of(proc: Path) -> int | None:
    try:
        text = (proc / "stat").read_text()
    except OSError:
        return None
    return int(text[text.rfind(")") + 2 :].split()[1])


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (
            [],
            {"county", "tiles", "second", "web", "city", "static", "city-static", "delivery"},
        ),
        (["stations", "archive"], set()),
        (["tiles"], {"county", "tiles"}),
        (["instances"], {"county", "second"}),
        (["writes"], {"county"}),  # "writes first" only: the served county
        (["warnings"], {"county", "static"}),
        (["web", "city"], {"web", "city", "city-static"}),
        (["delivery"], {"delivery"}),
    ],
)
def test_early_servers_only_for_the_benches_asked(names: list[str], expected: set[str]) -> None:
    from bench import served

    assert {s for s in served.EARLY if served.wanted(s, names)} == expected


def test_drop_database_left_to_the_throwaway_cluster_in_the_quick_run(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick run on bench/__main__'s throwaway cluster leaves a bench's database (its DROP
    would wait for a checkpoint); any other run drops it."""
    import uuid

    import psycopg

    from bench import databases

    name = f"t_drop_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(fresh_db, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")

    def exists() -> bool:
        with psycopg.connect(fresh_db) as c:
            found = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return found.fetchone() is not None

    assert exists()
    monkeypatch.setenv("BENCH_QUICK", "1")
    monkeypatch.setattr(databases, "_throwaway", [True])
    databases.drop_database(fresh_db, name)
    assert exists()
    monkeypatch.setattr(databases, "_throwaway", [])  # quick, but a server of one's own
    databases.drop_database(fresh_db, name)
    assert not exists()


def test_one_load_process_measures_each_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick warning-list pass: one load process (warm-up, then each mode in turn) gives
    each mode its own summary, every request answered, as separate processes did."""
    from bench import served

    monkeypatch.setenv("BENCH_QUICK", "1")  # the load process's 1 s passes
    from bench.warnings_latency import PATH, _loads, start_static

    [peer] = start_static(tmp_path)
    try:
        body = b'{"type": "FeatureCollection", "features": []}'
        peer.extra["file"].write_bytes(body)
        served._ready([peer])  # its /healthz answers
        import httpx

        assert httpx.get(f"{peer.base}{PATH}").content == body
        out = _loads(peer.port, ["paced", "saturated"], warm=True)
        assert set(out) == {"paced", "saturated"}
        for mode, s in out.items():
            assert s["n"] > 0 and s["errors"] == 0, (mode, s)
        # paced: 200 clients at 2 req/s each for the pass; saturated: as fast as answered
        assert out["paced"]["n"] <= 200 * 2 * 1.0 + 200, out["paced"]
    finally:
        peer.proc.terminate()
        peer.proc.wait(20)
