"""Schemathesis 4 against the live server's /openapi.json with every check, for every role and
without a token (issue 17, "bad input"): no 5xx, no answer the document does not describe
(status, content type, body, headers), no schema-valid input refused and no invalid one taken,
authentication enforced where declared, 405 with a true ``Allow`` for undeclared methods, and
links between operations followed (the stateful phase, on the links schemathesis infers from
the response schemas: list to item, created to read, item to its actions).

The schema is read from the running server, so routes added later are covered without touching
this file. What the checks assume and this API does otherwise is configured, with the reasons,
in ``schemathesis.toml`` next to this file.

How it runs
-----------
* Schemathesis' own CLI (``st run``) in a subprocess per run: its pytest plugin does not work with
  pytest 9 (it reads the removed ``Item._nodeid``), and a subprocess runs beside this process's
  servers instead of competing for its GIL, so two runs go side by side. Its report (each failure
  with a curl command that reproduces it) is the assertion message.
* Every run has a server and a database of its own, a copy of the storm as the ``service``
  fixture serves it, with the same users and tokens: the roles that can write change warnings,
  responses and reports, and even a run without a token writes (every failed sign-in is counted
  per client address, and the shared service's sign-in tests come from the same address).
* Phases: examples, fuzzing and stateful for every run; the coverage phase (about 2,500
  deterministic boundary, wrong-type and wrong-method cases, three quarters of a run's time) for
  the admin role only, whose permissions reach every handler: the other runs reach the same
  handlers as far as their permissions go (403 beyond, 401 without a token), and the admin
  run's ``ignored_auth`` check sends protected operations' cases again without the token.
* Budget: ``RISKMAP_FUZZ_EXAMPLES`` examples per operation and phase (default 5: the seven runs
  take 70–80 s on two cores, two at a time; the examples are then derandomised, so CI sees the
  same inputs every run). ``make soak`` sets it higher and runs every phase for every role, with
  new inputs each time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from riskmap.api.users import ROLES
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.settings import Settings
from tests.api.conftest import prepare_service_database, start_server
from tests.conftest import clone_database, drop_database

CONFIG = Path(__file__).with_name("schemathesis.toml")
_ENV = os.environ.get("RISKMAP_FUZZ_EXAMPLES")
EXAMPLES = max(1, int(_ENV)) if _ENV else 5
SOAK = _ENV is not None
ALL_PHASES = "examples,coverage,fuzzing,stateful"
QUICK_PHASES = "examples,fuzzing,stateful"
PUBLIC = "public"  # the run without a token
WHO = (PUBLIC, *ROLES)
LEFT_OUT = {"GET /api/events"}  # see schemathesis.toml
PARALLEL = 2  # runs side by side (two cores)


@dataclass
class Run:
    """One ``st run``: who, its exit status and report, and the operations it tested."""

    who: str
    returncode: int
    report: str
    tested: set[str]
    expected: set[str]
    seconds: float


def phases(who: str) -> str:
    return ALL_PHASES if SOAK or who == "admin" else QUICK_PHASES


def _st_run(base: str, token: str | None, who: str, workdir: Path) -> Run:
    """``st run`` against the server at ``base``, as ``who``."""
    junit = workdir / "junit.xml"
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color"),
        *("run", f"{base}/openapi.json", "--phases", phases(who)),
        *("--max-examples", str(EXAMPLES), "--workers", "1", "--request-timeout", "30"),
        *("--report", "junit", "--report-junit-path", str(junit)),
        *(["-H", f"Authorization: Bearer {token}"] if token else []),
        *([] if SOAK else ["--generation-deterministic"]),
    ]
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=600 if not SOAK else 7200
    )
    seconds = time.monotonic() - started
    cases = ET.parse(junit).iter("testcase") if junit.exists() else []
    tested = {case.get("name", "") for case in cases}
    doc = httpx.get(f"{base}/openapi.json", timeout=30).json()
    expected = {f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops} - LEFT_OUT
    report = f"st run as {who} ({phases(who)}, {EXAMPLES} examples):\n{done.stdout}{done.stderr}"
    return Run(who, done.returncode, report, tested, expected, seconds)


def _serve_and_run(db_url: str, token: str | None, who: str, workdir: Path) -> Run:
    """A server over ``db_url`` for the length of one run."""
    # writes go on to their handlers (the service's 1000/minute would turn the admin's ~1,500
    # write cases into 429s); sign-ins keep their limit, which the run then meets (429 documented)
    settings = Settings(data_dir=workdir / "data", write_rate_limit="1000000/minute")
    base, server, thread = start_server(settings, db_url)
    try:
        return _st_run(base, token, who, workdir)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest,
    pg_cluster: EmbeddedCluster,
    storm_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Future[Run]]]:
    """The selected runs (``-k admin``: that one) started at once, ``PARALLEL`` at a time,
    longest first; each test waits for its own."""
    chosen = {
        item.callspec.params["who"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    template = clone_database(pg_cluster, storm_url, prefix="t_fuzz")
    tokens = prepare_service_database(template)
    copies = {who: clone_database(pg_cluster, template, prefix="t_fuzz") for who in chosen}
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="st") as pool:
            futs = {
                who: pool.submit(
                    _serve_and_run,
                    copies[who],
                    tokens.get(who),
                    who,
                    tmp_path_factory.mktemp(f"st-{who}"),
                )
                for who in sorted(chosen, key=lambda w: phases(w) != ALL_PHASES)
            }
            yield futs
        took = ", ".join(f"{who} {f.result().seconds:.0f} s" for who, f in futs.items())
        print(f"\nschemathesis: {time.monotonic() - started:.0f} s for the runs ({took})")
    finally:
        for url in [*copies.values(), template]:
            drop_database(pg_cluster, url)


@pytest.mark.timeout(7200 if SOAK else 600)
@pytest.mark.parametrize("who", WHO)
def test_every_check_passes(runs: dict[str, Future[Run]], who: str) -> None:
    run = runs[who].result()
    assert run.returncode == 0, run.report
    assert run.expected <= run.tested, run.report  # every operation in the document, tested
