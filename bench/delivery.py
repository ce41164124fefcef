"""Warning delivery: issued warning → reference receiver, end to end, and sustained throughput.

Three measures, each on the demo county in a throwaway database, with `riskmap dispatch run`
and `riskmap receiver` as real processes on loopback:

1. **Latency, 222 villages**: a red 立即转移 warning published (commit) → the receiver has it for
   every village (its journal's received_at): p50 / p95 over 5 warnings (target p95 < 1 s).
   Peer: a bare sender (httpx, 64 requests in flight, no database) POSTing the same signed
   documents to the same receiver: the ratio says what the outbox, claiming and bookkeeping cost.
2. **A rain grid lands → rules → auto-issued 立即转移 → receiver**: a one-hour rain analysis for
   the current hour (the storm's peak hour × 1.5) ingested, the rules cycle run, the warning
   auto-issued; timed until the receiver has every targeted village.
3. **Throughput to 25,000 terminals** (≈113 loudspeakers per village): deliveries per second
   with one and with two dispatchers, against the bare sender's rate to the same receiver.

``BENCH_QUICK=1``: the county's own 222 terminals; the county loaded in the shared set-up
(bench/fixtures.py), and the receiver and the first dispatcher started at its end
(bench/served.py); 3 warnings for the latency, and the throughput with that one dispatcher
only (no pass with two).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import psycopg

from bench import fixtures
from bench.common import with_db
from bench.databases import create_database, drop_database
from bench.results import Row, below, quick, record, scaled
from riskmap.api.dispatch import keys, signing
from riskmap.api.receiver.client import journal
from riskmap.geo.demo.county import generate
from riskmap.geo.demo.load import load
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.cycle import run_cycle
from riskmap.geo.warnings.proposal import Proposal

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "boundaries" / "hunan_demo.geojson"
STORM = ROOT / "data" / "scenarios" / "storm-431226"
RISKMAP = [sys.executable, "-m", "riskmap.api.cli"]
# hazards of the bench's own: a second warning of one hazard over the same villages merges
# into the first (an extension, no new loudspeaker messages)
HAZARDS = tuple(f"bench_latency_{i}" for i in range(1, scaled(6, 4)))  # the quick run: 3
# the quick run: the county's own 222 terminals, one per village
THROUGHPUT_TERMINALS = int(os.environ.get("BENCH_TERMINALS") or scaled(25_000, 222))
TARGET_P95_MS = 1000.0  # issue 19: 222 villages × 5 warnings


@dataclass
class Started:
    """The receiver (the terminals pointed at it) and one dispatcher, listening."""

    rx: str
    env: dict[str, str]
    secrets: dict[str, bytes]
    receiver: ExitStack  # closing it stops the receiver
    dispatcher: ExitStack  # and the dispatcher


def start(db: str, tmp: Path) -> Started:
    """Start the receiver and one dispatcher over ``db`` (``tmp``: the county's files) and wait
    until the dispatcher listens; the quick run does it at the end of the shared set-up
    (bench/served.py)."""
    secrets = _keys(db, tmp)
    receiver, dispatcher = ExitStack(), ExitStack()
    try:
        rx = receiver.enter_context(_receiver(tmp, secrets))
        _point(db, rx)
        env = _env(db, tmp)
        dispatcher.enter_context(_dispatchers(env, 1, tmp))
    except BaseException:
        receiver.close()
        raise
    return Started(rx, env, secrets, receiver, dispatcher)


def run(url: str) -> Iterator[str]:
    from bench import served

    tmp = fixtures.result("delivery")  # the quick run's set-up loaded the county already
    if tmp is not None:
        db = with_db(url, "bench_delivery")
    else:
        tmp = Path(tempfile.mkdtemp(prefix="bench-delivery-", dir="/tmp"))
        os.chmod(tmp, 0o755)
        db = _database(url, tmp)
    try:
        started = served.take("delivery") or start(db, tmp)  # (the set-up's, if it started)
        rx, env, secrets = started.rx, started.env, started.secrets
        rates: dict[int, float] = {}
        with started.receiver:
            with started.dispatcher:
                yield from _grid_to_receiver(db, rx, tmp)  # first: a clean slate for the rules
                yield from _latency(db, rx, secrets)
                if quick():  # the county's own terminals, one per village, to the dispatcher
                    # already listening: one pass, no second dispatcher
                    yield from _throughput_pass(db, 1, "bench_one_dispatcher", rates)
            per_village = max(1, THROUGHPUT_TERMINALS // len(_codes(db)))
            if per_village > 1:
                secrets = _more_terminals(db, per_village, tmp)
            if not quick():
                yield from _throughput(db, env, tmp, rates)  # new dispatchers for each pass
            yield from _throughput_peer(db, rx, secrets, rates)
    finally:
        drop_database(url, "bench_delivery")


# ---- set-up ----------------------------------------------------------------------------------


def build_database(url: str, tmp: Path) -> Path:
    """The bench's database with the demo county loaded, its files in ``tmp``; ``tmp``. The
    quick run's set-up runs it in a process of its own (bench/fixtures.py)."""
    _database(url, tmp)
    return tmp


def _database(url: str, tmp: Path) -> str:
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS bench_delivery WITH (FORCE)")
    db = create_database(url, "bench_delivery")
    now = datetime.now(UTC)
    demo = generate(
        "431226",
        villages=None,
        seed=20260723,
        bundled_path=BUNDLED,
        out_dir=tmp / "demo",
        roster_start=now - timedelta(days=1),
    )
    with psycopg.connect(db) as conn:
        load(conn, demo)
    return db


def _keys(db: str, tmp: Path) -> dict[str, bytes]:
    fernet = keys.installation_key(None, tmp / "secret.key")
    with psycopg.connect(db) as conn:
        keys.ensure_keys(conn, fernet)
        exported = keys.export(conn, fernet)
        conn.commit()
    (tmp / "rx").mkdir(exist_ok=True)
    (tmp / "rx" / "keys.json").write_text(json.dumps(exported))
    return {k: base64.b64decode(v) for k, v in exported.items()}


@contextmanager
def _receiver(tmp: Path, secrets: dict[str, bytes]) -> Iterator[str]:
    args = [*RISKMAP, "receiver", "--port", "0", "--keys", str(tmp / "rx" / "keys.json")]
    args += ["--journal", str(tmp / "rx" / "journal.sqlite"), "--no-ack"]
    log = tmp / "rx" / "receiver.log"  # a file, not a pipe: an unread pipe fills and stalls it
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            lines = log.read_text(errors="replace").splitlines()
            if lines and lines[0].startswith("receiver: "):
                break
            time.sleep(0.1)
        base = lines[0].split()[1].rstrip("/")
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def _point(db: str, rx: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute(
            "UPDATE broadcast_terminal SET status = 'online', protocol = 'http-json',"
            " endpoint = %s || '/broadcast/' || village_code",
            (rx,),
        )


def _env(db: str, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RISKMAP_DATABASE_URL": db,
        "RISKMAP_DATA_DIR": str(tmp),
        "RISKMAP_PUBLIC_URL": "http://127.0.0.1:9",
        "RISKMAP_LOG_LEVEL": "warning",
    }


@contextmanager
def _dispatchers(env: dict[str, str], n: int, tmp: Path) -> Iterator[None]:
    log = open(tmp / "dispatch.log", "ab")  # noqa: SIM115
    since = datetime.now(UTC)
    procs = [
        subprocess.Popen([*RISKMAP, "dispatch", "run"], env=env, stdout=log, stderr=log)
        for _ in range(n)
    ]
    if quick():  # until each listens for the outbox (the full run gives them two seconds)
        _wait_listening(env["RISKMAP_DATABASE_URL"], n, procs, since)
    else:
        time.sleep(2.0)  # started and listening
    try:
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(15)
        log.close()


def _wait_listening(
    db: str, n: int, procs: list[subprocess.Popen], since: datetime, timeout_s: float = 60.0
) -> None:
    """Until ``n`` dispatchers started after ``since`` have their outbox listener connected and
    idle (LISTEN done)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(db, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a dispatcher exited at its start; see dispatch.log")
            listening = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'riskmap-dispatch-listen' AND state = 'idle'"
                " AND backend_start > %s",
                (since,),
            ).fetchone()[0]
            if listening >= n:
                time.sleep(0.2)  # its lanes' first look at the outbox
                return
            time.sleep(0.05)
    raise RuntimeError(f"{n} dispatcher(s) not listening after {timeout_s:.0f} s")


def _publish(db: str, codes: list[str], hazard: str, at: datetime | None = None) -> tuple:
    at = at or datetime.now(UTC)
    p = Proposal(
        rule_id=f"bench-{hazard}-{at.timestamp():.0f}",
        rule_version="1",
        hazard=hazard,
        colour="red",
        at=at,
        village_codes=tuple(codes),
        evidence={c: {"rain_1h": 70.0} for c in codes},
        event_zh="山洪灾害",
        event_en="Flash flood",
        headline_zh="麻阳苗族自治县发布山洪灾害红色预警",
        headline_en="Flash flood red warning",
        description_zh="过去1小时降雨量已达70毫米。",
        description_en="70 mm in 1 h.",
        instruction_zh="请危险区群众立即转移。",
        instruction_en="Evacuate now.",
        review="auto",
        action="evacuate_now",
    )
    with psycopg.connect(db) as conn:
        [change] = lifecycle.apply_proposals(conn, [p], at)
        conn.commit()
    return change.warning_id, time.time()


def _codes(db: str) -> list[str]:
    with psycopg.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT code FROM village ORDER BY code").fetchall()]


def _received(rx: str, wid: int, n: int, timeout_s: float) -> list[float]:
    deadline = time.monotonic() + timeout_s
    while True:
        got = [e for e in journal(rx) if e["warning_id"] == wid]
        if len(got) >= n or time.monotonic() > deadline:
            return [datetime.fromisoformat(e["received_at"]).timestamp() for e in got]
        time.sleep(0.05)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


# ---- 1. latency ------------------------------------------------------------------------------


def _latency(db: str, rx: str, secrets: dict[str, bytes]) -> Iterator[str]:
    codes = _codes(db)
    lat: list[float] = []
    for hazard in HAZARDS:
        wid, t0 = _publish(db, codes, hazard)
        got = _received(rx, wid, len(codes), 30)
        if len(got) < len(codes):
            yield f"warning {wid}: only {len(got)}/{len(codes)} villages within 30 s"
        lat += [t - t0 for t in got]
        if got:
            mine = sorted(t - t0 for t in got)
            yield f"  warning {wid} ({hazard}): last village after {mine[-1] * 1000:.0f} ms"
    bare = asyncio.run(_bare_send(db, rx, secrets, codes, tag="peer-latency"))
    p50, p95 = _pct(lat, 0.5), _pct(lat, 0.95)
    b50, b95 = _pct(bare["latency"], 0.5), _pct(bare["latency"], 0.95)
    record(
        Row(
            "delivery",
            f"issued → receiver, {len(codes)} villages × {len(HAZARDS)} warnings: p95",
            p95 * 1e3,
            "ms",
            "bare httpx sender p95, same documents",
            b95 * 1e3,
            target=f"< {TARGET_P95_MS:.0f} ms",
            passed=below(p95 * 1e3, TARGET_P95_MS) and len(lat) == len(codes) * len(HAZARDS),
            extra={
                "p50_ms": p50 * 1e3,
                "peer_p50_ms": b50 * 1e3,
                "received": len(lat),
                "expected": len(codes) * len(HAZARDS),
            },
        )
    )
    yield (
        f"issued → receiver, {len(codes)} villages × {len(HAZARDS)} warnings: p50 {p50 * 1000:.0f}"
        f" ms, p95 {p95 * 1000:.0f} ms (target p95 < 1000 ms)"
    )
    yield (
        f"bare httpx sender, same documents: p50 {b50 * 1000:.0f} ms, p95 {b95 * 1000:.0f} ms;"
        f" ratio p95 {p95 / b95:.1f}×"
    )


async def _bare_send(
    db: str, rx: str, secrets: dict[str, bytes], codes: list[str], tag: str, copies: int = 1
) -> dict:
    """POST signed http-json documents straight to the receiver: no database, no outbox."""
    with psycopg.connect(db) as conn:
        terminals = conn.execute(
            "SELECT id, village_code, endpoint FROM broadcast_terminal"
            " WHERE village_code = ANY(%s) ORDER BY id",
            (codes,),
        ).fetchall()
    kid = {k.rsplit(":v", 1)[0]: k for k in secrets}
    sem = asyncio.Semaphore(64)
    lat: list[float] = []
    t0 = time.perf_counter()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as client:

        async def one(i: int, tid: str, village: str, endpoint: str) -> None:
            body = json.dumps(
                {
                    "schema": "riskmap.broadcast/1",
                    "broadcast_id": 10_000_000 + i,
                    "idempotency_key": f"{tag}:{i}:{tid}",
                    "warning_id": 9_000_000,
                    "version": 1,
                    "msg_type": "Alert",
                    "status": "Actual",
                    "colour": "red",
                    "level": "一级",
                    "hazard": "flash_flood",
                    "village_code": village,
                    "village_codes": [village],
                    "terminal_id": tid,
                    "text": "山洪灾害红色预警。请危险区群众立即转移。",
                    "language": "zh-CN",
                    "repeat": 3,
                    "repeat_interval_s": 60,
                    "start": "2026-12-06T10:00:00+08:00",
                    "end": "2026-12-06T13:00:00+08:00",
                    "links": {},
                },
                ensure_ascii=False,
            ).encode()
            headers = signing.signed_headers(kid[tid], secrets[kid[tid]], body)
            headers["Content-Type"] = "application/json; charset=utf-8"
            async with sem:
                r = await client.post(endpoint, content=body, headers=headers)
            lat.append(time.perf_counter() - t0)
            if r.status_code >= 300:
                raise RuntimeError(f"bare sender: HTTP {r.status_code}: {r.text[:200]}")

        jobs = [
            one(n * len(terminals) + i, t, v, e)
            for n in range(copies)
            for i, (t, v, e) in enumerate(terminals)
        ]
        await asyncio.gather(*jobs)
    return {"latency": lat, "seconds": time.perf_counter() - t0, "n": len(lat)}


# ---- 2. grid → rules → receiver --------------------------------------------------------------


def _grid_to_receiver(db: str, rx: str, tmp: Path) -> Iterator[str]:
    import xarray as xr

    from riskmap.ingest.pipeline import ingest_file

    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    src = xr.open_dataset(STORM / "20260714T0900Z_qpe_1h.nc")
    ds = src.load()
    src.close()
    shift = (hour.replace(tzinfo=None) - datetime(2026, 7, 14, 9)).total_seconds()
    with xr.set_options(keep_attrs=True):  # units and standard names are what ingest reads
        ds["precipitation_amount"] = ds["precipitation_amount"] * 1.5
        ds = ds.assign_coords(time=ds["time"] + np.timedelta64(int(shift), "s"))
        ds["time"].attrs = src["time"].attrs
        ds["time"].encoding["units"] = "hours since 1970-01-01"
        if "time_bnds" in ds:
            ds["time_bnds"] = ds["time_bnds"] + np.timedelta64(int(shift), "s")
    path = tmp / f"{hour:%Y%m%dT%H%MZ}_qpe_1h.nc"
    ds.to_netcdf(path)
    t0 = time.time()
    with psycopg.connect(db) as conn:
        summary = ingest_file(conn, path, data_dir=tmp)
        conn.commit()
        t1 = time.time()
        result = run_cycle(conn, datetime.now(UTC))
        conn.commit()
    t2 = time.time()
    issued = [c for c in result.changes if c.published and c.colour == "red"]
    if summary.status != "loaded" or not issued:
        why = summary.message or [str(p) for p in summary.problems[:3]]
        record(
            Row(
                "delivery",
                "rain grid lands → rules → receiver",
                None,
                "ms",
                passed=False,
                note=f"nothing issued (ingest {summary.status})",
            )
        )
        yield f"grid → rules: nothing issued (ingest {summary.status}: {why}); no figure"
        return
    with psycopg.connect(db) as conn:
        targets = {
            c.warning_id: conn.execute(
                "SELECT count(*) FROM outbox WHERE warning_id = %s AND version = %s"
                " AND channel = 'broadcast'",
                (c.warning_id, c.version),
            ).fetchone()[0]
            for c in issued
        }
    last = max(max(_received(rx, wid, n, 30), default=t2) for wid, n in targets.items())
    record(
        Row(
            "delivery",
            f"rain grid lands → rules → auto-issued 立即转移 → receiver"
            f" ({sum(targets.values())} villages)",
            (last - t0) * 1e3,
            "ms",
            extra={
                "ingest_ms": (t1 - t0) * 1e3,
                "rules_issue_ms": (t2 - t1) * 1e3,
                "delivery_ms": (last - t2) * 1e3,
            },
        )
    )
    yield (
        f"rain grid lands → rules → auto-issued 立即转移 ({sum(targets.values())} villages) →"
        f" receiver: {(last - t0) * 1000:.0f} ms (ingest {(t1 - t0) * 1000:.0f} ms, rules and"
        f" issue {(t2 - t1) * 1000:.0f} ms, delivery {(last - t2) * 1000:.0f} ms)"
    )


# ---- 3. throughput ---------------------------------------------------------------------------


def _more_terminals(db: str, per_village: int, tmp: Path) -> dict[str, bytes]:
    """``per_village`` terminals in every village (copies of its own); the keys re-read. (The
    quick run: the county's own terminals, one per village.)"""
    with psycopg.connect(db) as conn:
        conn.execute(
            """INSERT INTO broadcast_terminal (id, name, village_code, protocol, endpoint,
                                               speakers, status, dataset_id, geom)
               SELECT t.id || '-' || k, t.name || k, t.village_code, 'http-json', t.endpoint,
                      1, 'online', t.dataset_id, t.geom
               FROM broadcast_terminal t, generate_series(2, %s) k""",
            (per_village,),
        )
        conn.commit()
    secrets = _keys(db, tmp)  # the new terminals' keys, re-read by the receiver
    time.sleep(1.0)
    return secrets


def _throughput(db: str, env: dict[str, str], tmp: Path, rates: dict[int, float]) -> Iterator[str]:
    """Deliveries per second with one and with two dispatchers (started for the pass) into
    ``rates``."""
    # hazards of their own: a warning of a hazard already issued over these villages would
    # merge into it (an extension: no new loudspeaker messages)
    for n, hazard in ((1, "bench_one_dispatcher"), (2, "bench_two_dispatchers")):
        with _dispatchers(env, n, tmp):
            yield from _throughput_pass(db, n, hazard, rates)


def _throughput_pass(db: str, n: int, hazard: str, rates: dict[int, float]) -> Iterator[str]:
    """A warning of ``hazard`` to every terminal, delivered by the ``n`` dispatchers running:
    deliveries per second into ``rates[n]``."""
    codes = _codes(db)
    with psycopg.connect(db) as conn:
        n_terminals = conn.execute("SELECT count(*) FROM broadcast_terminal").fetchone()[0]
    wid, t0 = _publish(db, codes, hazard)
    deadline = time.monotonic() + 900
    with psycopg.connect(db, autocommit=True) as conn:
        while time.monotonic() < deadline:
            left = conn.execute(
                "SELECT count(*) FROM outbox WHERE warning_id = %s AND status = 'pending'"
                " AND channel = 'broadcast'",
                (wid,),
            ).fetchone()[0]
            if not left:
                break
            time.sleep(0.2)
    took = time.time() - t0
    rates[n] = n_terminals / took
    yield f"{n} dispatcher(s): {n_terminals} terminals in {took:.1f} s = {rates[n]:.0f}/s"


def _throughput_peer(
    db: str, rx: str, secrets: dict[str, bytes], rates: dict[int, float]
) -> Iterator[str]:
    """The bare sender to the same terminals (no dispatcher runs meanwhile); the rows."""
    codes = _codes(db)
    with psycopg.connect(db) as conn:
        n_terminals = conn.execute("SELECT count(*) FROM broadcast_terminal").fetchone()[0]
    bare = asyncio.run(_bare_send(db, rx, secrets, codes, tag="peer-throughput"))
    peer = bare["n"] / bare["seconds"]
    for n, rate in rates.items():
        record(
            Row(
                "delivery",
                f"throughput to {n_terminals:,} terminals, {n} dispatcher(s)",
                rate,
                "deliveries/s",
                "bare httpx sender, same receiver",
                peer,
            )
        )
    shares = ", ".join(
        f"{rate / peer:.2f} ({'one' if n == 1 else 'two'})" for n, rate in rates.items()
    )
    yield f"bare httpx sender to the same receiver: {peer:.0f}/s; dispatcher ÷ peer: {shares}"


if __name__ == "__main__":
    for line in run(sys.argv[1]):
        print(line, flush=True)
