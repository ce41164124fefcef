"""The web pages in a browser: riskmap's console (``/``), wall map (``/wall``) and resource one
map (``/resources``) against the floor, a minimal MapLibre page (maplibre-gl and an empty style
with one background layer, built by the same vite into a temporary folder) measured in the same
run, served by the same riskmap server code.

Browser: Debian's headless Chromium driven by Playwright, WebGL on SwiftShader (no GPU here: the
CPU draws every frame, so the frame rates are a software renderer's on two cores shared with the
server and PostgreSQL). Server: ``riskmap serve``'s app under uvicorn (one worker) over the demo
database as ``make demo`` leaves it (the county, the storm ending at the current hour with its
warnings, the risk maps); the floor runs on a second server whose ``RISKMAP_WEB_DIR`` is the floor
build. The pages are opened as a signed-in forecaster (a token in localStorage, as the console
keeps it after signing in).

Measured per page:

- **first render**: from navigation start to MapLibre's ``load`` event and its first ``idle``
  (style, sources and the tiles in view drawn), and to an interactive page
  (``body[data-ready=true]``; the floor sets it on its first ``idle``); **cold** = a new browser
  context (empty cache), **warm** = the same context reloaded. Median of ``REPEATS``.
- **JS shipped**: the scripts the page loads from the server (cold), each gzip-compressed
  (level 6) here, summed (the server sends them as built; a proxy would gzip them so).
- **panning**: frames per second (``requestAnimationFrame`` callbacks) and map renders per second
  while a script pans the map back and forth with ``map.panBy`` for ``PAN_SECONDS`` s (the wall
  map: a command-centre screen; also the console's map).

Ratios are ours / floor: for times and bytes lower is better, for frame rates higher is.

Run alone: ``python -m bench.web POSTGRES_URL`` (a server riskmap may create databases on);
``make bench`` runs it on its throwaway cluster.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from tempfile import mkdtemp
from urllib.parse import urlsplit

import psycopg

from bench import fixtures
from bench.common import free_port
from bench.databases import demo_storm, drop_database
from bench.results import Row, record, scaled
from bench.servers import start_uvicorn, wait_ok
from bench.web_pages import PAN, TIMING_HOOK
from tests.web.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
WEBAPP = Path(os.environ.get("RISKMAP_WEB_DIR") or ROOT / "api" / "webapp")
COUNTY = "431226"
REPEATS = scaled(3, 1)
PAN_SECONDS = scaled(5.0, 1.0)
# the quick run loads each page cold only (no reload: "warm" shows "—") and pans it right
# after, in that context, instead of loading it once more in a new one
WARM = scaled(True, False)
PAN_AFTER_LOAD = scaled(False, True)
# the quick run waits for the map's first idle only (the rows' measure), not for the page's
# data to be ready as well ("ready" then shows "—")
WAIT_READY = scaled(True, False)
PAGE_TIMEOUT_MS = 30000
# the quick run: the forecasters' console and the command centre's wall (resources: full run)
PAGES = scaled(
    {"console": "/", "wall": "/wall", "resources": "/resources"}, {"console": "/", "wall": "/wall"}
)
APP = "riskmap.api.app:create_app"


def _build_db(url: str, data: Path) -> tuple[str, str]:
    """A database of its own as ``make demo`` leaves it; (its URL, a forecaster token)."""
    from riskmap.api.users import add_user, new_token

    name = f"bench_web_{uuid.uuid4().hex[:8]}"
    db = demo_storm(url, name, data, risk=True)
    with psycopg.connect(db) as conn:
        add_user(conn, "bench-forecaster", "forecaster", display_name="基准测试预报员")
        token = new_token(conn, "bench-forecaster", label="bench")
        conn.commit()
    return db, token


def _context(browser, token: str | None):
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.add_init_script(TIMING_HOOK)
    if token:
        user = {
            "name": "bench-forecaster",
            "role": "forecaster",
            "display_name": "基准测试预报员",
            "permissions": _permissions("forecaster"),
        }
        context.add_init_script(
            f"localStorage.setItem('riskmap.token', {json.dumps(token)});"
            f" localStorage.setItem('riskmap.user', {json.dumps(json.dumps(user))});"
        )
    return context


def _permissions(role: str) -> list[str]:
    from riskmap.api.users import PERMISSIONS

    return sorted(p for p, roles in PERMISSIONS.items() if role in roles)


def _marks(page) -> dict:
    """Wait for the first idle and readiness (each up to the timeout; the quick run: the idle
    only); the marks seen."""
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    awaited = {"idle", "ready"} if WAIT_READY else {"idle"}
    while time.monotonic() < deadline:
        marks = page.evaluate("() => window.__bench || {}")
        if awaited <= marks.keys():
            return marks
        time.sleep(0.05)
    return page.evaluate("() => window.__bench || {}")


def _measure(browser, url: str, token: str | None, pan: bool = False) -> dict:
    """Cold and warm timings, JS bytes (cold) for one page; medians over REPEATS. With ``pan``
    also the panning figures (:data:`PAN`) of the first page (warm, or cold in the quick run),
    once it is idle."""
    pan_result = None
    cold: list[dict] = []
    warm: list[dict] = []
    js_gzip = js_raw = 0
    for i in range(REPEATS):
        context = _context(browser, token)
        page = context.new_page()
        scripts: dict[str, bytes] = {}

        def on_response(response, scripts=scripts) -> None:
            # scripts from the server only: MapLibre's workers start from blob: URLs of code
            # already counted
            if (
                response.request.resource_type == "script"
                and response.status == 200
                and response.url.startswith(("http://", "https://"))
            ):
                with contextlib.suppress(Exception):  # a response gone with its page
                    scripts[response.url] = response.body()

        page.on("response", on_response)
        page.goto(url, wait_until="commit")
        cold.append(_marks(page))
        if i == 0:
            js_raw = sum(len(b) for b in scripts.values())
            js_gzip = sum(len(gzip.compress(b, compresslevel=6)) for b in scripts.values())
        page.remove_listener("response", on_response)
        if WARM:
            page.reload(wait_until="commit")
            warm.append(_marks(page))
        if pan and i == 0:
            last = (warm or cold)[-1]
            pan_result = page.evaluate(PAN, PAN_SECONDS * 1000) if "idle" in last else None
        context.close()
        if not all({"idle", "ready"} <= run.keys() for run in cold + warm) and WAIT_READY:
            break  # a page that never gets ready: once is enough to say so
    out = {"cold": _median(cold), "warm": _median(warm), "js_gzip": js_gzip, "js_raw": js_raw}
    if pan:
        out["pan"] = pan_result
    return out


def _median(runs: list[dict]) -> dict:
    """Medians of the marks seen in every run; none measured (the quick run's warm loads): {}."""
    out = {}
    for key in ("load", "idle", "ready"):
        values = [r[key] for r in runs if key in r]
        out[key] = statistics.median(values) if values and len(values) == len(runs) else None
    return out if runs else {}


def _pan(browser, url: str, token: str | None) -> dict | None:
    context = _context(browser, token)
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        marks = _marks(page)
        if "idle" not in marks:
            return None
        return page.evaluate(PAN, PAN_SECONDS * 1000)
    finally:
        context.close()


def _ms(value: float | None, ready: bool = False) -> str:
    if value is None:  # the quick run waits for the idle only: "ready" may not have come yet
        return "—" if ready and not WAIT_READY else "timeout"
    return f"{value:,.0f}"


def _when(marks: dict, key: str, ready: bool = False) -> str:
    """A mark of a load, "—" for a load not made (the quick run's warm one)."""
    return _ms(marks[key], ready) if marks else "—"


def _ratio(ours: float | None, floor: float | None) -> str:
    if ours is None or not floor:
        return "—"
    return f"{ours / floor:.1f}x"


def start(url: str, work: Path) -> list:
    """The bench's database and its two servers (its pages, the floor page), started and not
    waited for (``work``: a folder for their files, removed by :func:`run`); the quick run
    starts them at the end of the shared set-up (bench/served.py)."""
    from bench.served import Early

    if not (WEBAPP / "index.html").is_file():
        raise RuntimeError(f"{WEBAPP} has no index.html: run `make setup` (builds the pages)")
    t0 = time.perf_counter()
    db, token = _build_db(url, work / "demo-data")
    built = time.perf_counter() - t0
    floor_dir = fixtures.floor(work / "floor")  # built in the set-up, beside the cluster
    ours_port, floor_port = free_port(), free_port()
    env = {
        "RISKMAP_DATABASE_URL": db,
        "RISKMAP_DATA_DIR": str(work / "data"),
        "PYTHONFAULTHANDLER": "1",  # a crash says where in its log
    }
    servers = []
    for port, web_dir, log in (
        (ours_port, WEBAPP, work / "ours.log"),
        (floor_port, floor_dir, work / "floor.log"),
    ):
        proc = start_uvicorn(APP, port, env | {"RISKMAP_WEB_DIR": str(web_dir)}, log)
        base = f"http://127.0.0.1:{port}"
        servers.append(Early(base, proc, log, {"ready": base + "/"}))
    servers[0].extra |= {"db": db, "token": token, "work": work, "built": built}
    return servers


def run(url: str) -> Iterator[str]:
    """Yield report lines: the data, the floor and our pages, ratios against the floor."""
    from playwright.sync_api import sync_playwright

    from bench import served

    early = served.take("web")  # the quick run's set-up started them
    in_setup = early is not None
    if early is None:
        work = Path(mkdtemp(prefix="riskmap-bench-web-"))
        os.chmod(work, 0o755)
        try:
            early = start(url, work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    info = early[0].extra
    db, token, work = info["db"], info["token"], info["work"]
    yield (
        f"demo database (storm ending now, its warnings, risk maps) built in {info['built']:.0f} s"
        + (" (in the set-up, its servers started there)" if in_setup else "")
    )
    procs: list[subprocess.Popen] = [e.proc for e in early]
    try:
        ours, floor = early[0].base, early[1].base
        wait_ok(ours + "/", procs[0])
        wait_ok(floor + "/", procs[1])
        yield (
            f"headless Chromium (SwiftShader WebGL, 1440×900), 1 uvicorn worker; medians of"
            f" {REPEATS}; times in ms from navigation start; floor = MapLibre + background layer"
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                panned = ("floor", "wall", "console") if PAN_AFTER_LOAD else ()
                rows = {"floor": _measure(browser, floor + "/", None, "floor" in panned)}
                for name, path in PAGES.items():
                    rows[name] = _measure(browser, ours + path, token, name in panned)
                pans = {name: rows[name].pop("pan") for name in panned}
                if not PAN_AFTER_LOAD:
                    pans = {"floor": _pan(browser, floor + "/", None)}
                    for name in ("wall", "console"):
                        pans[name] = _pan(browser, ours + PAGES[name], token)
            except Exception as exc:
                _died(procs, [work / "ours.log", work / "floor.log"], exc)
                raise
            finally:
                browser.close()
        _record(rows, pans)
        yield from _table(rows, pans)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
        drop_database(url, urlsplit(db).path.lstrip("/"))


def _died(procs: list[subprocess.Popen], logs: list[Path], exc: Exception) -> None:
    """A server that exited during the run: raise with its exit status and the end of its log."""
    for proc, log in zip(procs, logs, strict=True):
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").splitlines()[-25:] if log.exists() else []
            raise RuntimeError(
                f"the server of {log.stem} exited ({proc.returncode}) during the run:\n"
                + "\n".join(tail)
            ) from exc


def _record(rows: dict[str, dict], pans: dict[str, dict | None]) -> None:
    """Per page: cold and warm first idle, JS shipped (gzip) and panning, against the floor."""
    f = rows["floor"]
    floor = "bare MapLibre page"
    for name, path in PAGES.items():
        r = rows[name]
        for when in ("cold", "warm") if WARM else ("cold",):
            record(
                Row(
                    "web",
                    f"{name} ({path}): {when} load → first map idle",
                    r[when]["idle"],
                    "ms",
                    floor,
                    f[when]["idle"],
                    note="" if r[when]["idle"] else "timeout",
                    extra={"ready_ms": r[when]["ready"], "load_ms": r[when]["load"]},
                )
            )
        record(
            Row(
                "web",
                f"{name} ({path}): JavaScript shipped, gzip",
                r["js_gzip"] / 1024,
                "KB",
                floor,
                f["js_gzip"] / 1024,
                extra={"raw_kb": r["js_raw"] / 1024},
            )
        )
    fp = pans.get("floor")
    for name in ("wall", "console"):
        p = pans.get(name)
        record(
            Row(
                "web",
                f"{name}: panning for {PAN_SECONDS:.0f} s",
                p and p["fps"],
                "frames/s",
                floor,
                fp and fp["fps"],
                note="" if p else "the map never became idle",
            )
        )


def _table(rows: dict[str, dict], pans: dict[str, dict | None]) -> Iterator[str]:
    head = (
        f"{'page':<10} {'cold load':>9} {'cold idle':>9} {'cold ready':>10}"
        f" {'warm load':>9} {'warm idle':>9} {'warm ready':>10} {'JS gzip KB':>10} {'JS raw KB':>9}"
    )
    yield head
    yield "-" * len(head)
    for name, r in rows.items():
        c, w = r["cold"], r["warm"]
        yield (
            f"{name:<10} {_ms(c['load']):>9} {_ms(c['idle']):>9} {_ms(c['ready'], True):>10}"
            f" {_when(w, 'load'):>9} {_when(w, 'idle'):>9} {_when(w, 'ready', True):>10}"
            f" {r['js_gzip'] / 1024:>10,.0f} {r['js_raw'] / 1024:>9,.0f}"
        )
    f = rows["floor"]
    for name in PAGES:
        r = rows[name]
        yield (
            f"{name} / floor: cold idle {_ratio(r['cold']['idle'], f['cold']['idle'])},"
            f" cold ready {_ratio(r['cold']['ready'], f['cold']['ready'])},"
            f" warm idle {_ratio(r['warm'].get('idle'), f['warm'].get('idle'))},"
            f" warm ready {_ratio(r['warm'].get('ready'), f['warm'].get('ready'))},"
            f" JS gzip {_ratio(r['js_gzip'], f['js_gzip'])}"
        )
    fp = pans.get("floor")
    for name in ("floor", "wall", "console"):
        p = pans.get(name)
        if p is None:
            yield f"panning {name}: the map never became idle"
            continue
        ratio = "" if name == "floor" else f" ({_ratio(p['fps'], fp and fp['fps'])} of the floor)"
        yield (
            f"panning {name} for {PAN_SECONDS:.0f} s: {p['fps']:.1f} frames/s,"
            f" {p['renders']:.1f} map renders/s{ratio}"
        )


def _main(argv: list[str]) -> None:
    url = argv[0] if argv else os.environ["RISKMAP_DATABASE_URL"]
    for line in run(url):
        print(line, flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
