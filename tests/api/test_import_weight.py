"""The API's workers start without the heavy analysis libraries: each `riskmap serve` worker
imports the app, and scipy alone cost a quarter of that (issue 19: the quick bench starts about
twenty workers); pandas and rasterio another third (session 13: 1.9 → 1.3 s a worker). What a
request needs later is imported by that request.

Issue 19 again (1.1 → 0.6 s a worker): numpy and what stands on it (shapely, morecantile and
pyproj, the rules engine and the plans), Pillow, Jinja2, PyYAML, yoyo and tenacity are imported
by the first request that needs them; and a spawned worker, which first re-runs the ``riskmap``
console script, no longer imports the whole command line with it."""

from __future__ import annotations

import json
import subprocess
import sys

# each with the request (or command) that imports it now
LAZY = (
    "scipy",
    "dask",
    "numba",
    "xarray",
    "pandas",
    "rasterio",
    "numpy",  # everything below stands on it, and the rules, plans and work-safety readings
    "shapely",  # CAP polygons, an OGC bbox, resource points
    "morecantile",  # rain and terrain tiles (with pyproj)
    "pyproj",
    "affine",
    "PIL",  # tiles, report photos
    "jinja2",  # the duty report (and swagger_ui's __init__, which /docs no longer imports)
    "yaml",  # rule and plan files
    "yoyo",  # /healthz's pending migrations
    "tenacity",  # the dispatcher's runner (a signed acknowledgement's key)
    "typer",  # the command line
    "riskmap.geo.rules.engine",
    "riskmap.geo.rules.load",
    "riskmap.geo.plans.load",
    "riskmap.geo.plans.check",
    "riskmap.geo.drills.exercise",
    "riskmap.geo.warnings.cycle",
    "riskmap.geo.warnings.lifecycle.proposals",
    "riskmap.geo.responses.engine",
    "riskmap.api.tiles.terrain_heights",
    "riskmap.api.dispatch.runner",
    "riskmap.api.cli.commands",
)


def _loaded(code: str) -> list[str]:
    """The modules of LAZY loaded after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(set({LAZY!r}) & set(sys.modules))))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_app_imports_without_the_analysis_libraries() -> None:
    assert _loaded("import riskmap.api.app") == []


def test_building_the_app_imports_none_of_them_either() -> None:
    """create_app() is the rest of a worker's start (settings, /docs, middleware)."""
    assert _loaded("import riskmap.api.app as a\na.create_app()") == []


def test_a_spawned_worker_rerunning_the_console_script_skips_the_command_line() -> None:
    """What a ``riskmap serve`` worker runs before the app: the console script's import line
    (``from riskmap.api.cli import main``, as pip writes it), as ``__mp_main__``."""
    assert _loaded("from riskmap.api.cli import main") == []


def test_the_lazy_names_are_still_there() -> None:
    """What the packages made lazy still export (the modules load when a name is read)."""
    code = (
        "from riskmap.geo.plans import check_plans, load_plans\n"
        "from riskmap.geo.rules import run_rules, RuleFileError\n"
        "from riskmap.geo.drills import drill_cycle, list_drills\n"
        "from riskmap.geo.responses import evaluate_plans, get_response, actions\n"
        "from riskmap.api.cli import app\n"
        "import riskmap.geo.plans as p\n"
        "assert p.load_plans is load_plans and p.CompiledPlan.__name__ == 'CompiledPlan'\n"
        "assert not hasattr(p, 'no_such_name')"
    )
    loaded = _loaded(code)
    for module in (
        "numpy",
        "riskmap.geo.plans.check",
        "riskmap.geo.rules.engine",
        "riskmap.geo.drills.exercise",
        "riskmap.geo.responses.engine",
        "riskmap.api.cli.commands",
        "typer",
    ):
        assert module in loaded, module


def test_the_command_tree_imports_none_of_the_heavy_libraries() -> None:
    """Every ``riskmap`` command, and ``riskmap serve``'s supervisor, imports the whole command
    tree to parse its arguments; each command imports what it runs (the ingest group imported
    the feed pipeline and the CAP feed package: pandas, pyproj, half a second)."""
    heavy = {"scipy", "dask", "xarray", "pandas", "rasterio", "numpy", "shapely", "pyproj"}
    assert set(_loaded("import riskmap.api.cli.commands")) & heavy == set()
