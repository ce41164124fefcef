"""`riskmap ingest …`: load feed files by hand, or run the watcher and pollers."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import psycopg
import typer
from rich.table import Table

from riskmap.api.cli.common import database_url, out, settings

if TYPE_CHECKING:  # the pipeline (pandas) is imported by the commands that load feeds
    from riskmap.ingest.pipeline import Summary

app = typer.Typer(
    help="Ingest feeds: files by hand, or the drop-folder watcher and pollers.",
    no_args_is_help=True,
)


def print_summary(s: Summary) -> None:
    """One block per file: status, rows per table, duplicates, each quarantined record."""
    colour = {"loaded": "green", "partial": "yellow", "rejected": "red", "duplicate": "cyan"}
    out.print(
        f"[bold]{s.source}[/bold] ({s.kind}): [{colour[s.status]}]{s.status}[/]"
        + (f" — {s.message}" if s.message else "")
    )
    if s.loaded:
        t = Table(show_header=True, box=None, padding=(0, 2))
        t.add_column("table")
        t.add_column("rows loaded", justify="right")
        for table, n in s.loaded.items():
            t.add_row(table, f"{n:,}")
        out.print(t)
    if s.status != "duplicate":
        out.print(f"  duplicates skipped: {s.duplicates:,}; quarantined: {len(s.problems):,}")
    for p in s.problems[:50]:
        out.print(f"  [yellow]quarantined[/] {p}")
    if len(s.problems) > 50:
        out.print(f"  … and {len(s.problems) - 50} more (see the quarantine table)")


@app.command("file")
def ingest_files(
    paths: Annotated[list[Path], typer.Argument(help="feed files to load")],
    kind: Annotated[str | None, typer.Option(help="feed kind; detected when omitted")] = None,
) -> None:
    """Load feed files; exits non-zero only when a file could not be read at all."""
    # the pipeline and the CAP feed package (pandas, pyproj, signxml: half a second) are
    # imported by the commands that read feeds, not by every `riskmap` command (the command
    # tree imports this module)
    from riskmap.ingest.feeds.upstream_cap.trust import load_trusted_certs
    from riskmap.ingest.pipeline import ingest_file

    s = settings()
    url = database_url(s)
    trusted = load_trusted_certs(s.cap_trusted_certs)
    unreadable = 0
    with psycopg.connect(url) as conn:
        for path in paths:
            summary = ingest_file(conn, path, data_dir=s.data_dir, kind=kind, trusted_certs=trusted)
            print_summary(summary)
            unreadable += summary.status == "rejected"
    if unreadable:
        raise typer.Exit(2)


@app.command("kinds")
def kinds() -> None:
    """List the feed kinds riskmap reads."""
    from riskmap.ingest.registry import feeds

    for name, feed in sorted(feeds().items()):
        out.print(f"{name:20s} {feed.description}")


@app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="process the inbox and poll once")] = False,
    inbox: Annotated[Path | None, typer.Option(help="drop folder (default data/inbox)")] = None,
    rules: Annotated[
        bool,
        typer.Option(
            "--rules/--no-rules",
            help="run the rules (expiry, new and updated warnings) after new data is loaded",
        ),
    ] = True,
) -> None:
    """Watch the drop folder and poll the feeds of sources.yaml (HTTP, SL 323 databases); one
    failing feed never stops the others. New data runs the rules at once, so an auto-issued
    warning (立即转移) reaches the outbox, and the dispatcher, seconds after its rain grid
    lands."""
    import logging

    from riskmap.ingest.feeds.upstream_cap.trust import load_trusted_certs
    from riskmap.ingest.runner import Runner
    from riskmap.ingest.sources import load_sources

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    s = settings()
    runner = Runner(
        database_url=database_url(s),
        data_dir=s.data_dir,
        inbox=inbox or s.inbox_dir,
        sources=load_sources(s.sources_path),
        passwords=s.source_passwords,
        on_summary=print_summary,
        after_loaded=_rules_now(s) if rules else lambda _s: None,
        trusted_certs=load_trusted_certs(s.cap_trusted_certs),
    )
    out.print(
        f"watching {runner.inbox}; polling {len(runner.sources)} source(s);"
        f" {len(runner.trusted_certs)} trusted CAP signing certificate(s)"
    )
    if once:
        runner.run_once()
        return
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        out.print("stopped")


def _rules_now(s):
    """The rules cycle as of now, after each pass that loaded data."""
    from datetime import UTC, datetime

    import psycopg

    from riskmap.geo.warnings.cycle import run_cycle

    url = database_url(s)

    def after(loaded) -> None:
        with psycopg.connect(url) as conn:
            result = run_cycle(conn, datetime.now(UTC), s.rule_dirs, s.plan_dirs)
            conn.commit()
        issued = sum(1 for c in result.changes if c.published)
        out.print(
            f"rules: {len(result.proposals)} proposals, {len(result.changes)} changes,"
            f" {issued} published, {len(result.expired)} expired (after {len(loaded)} loads)"
        )

    return after


@app.command("hj212")
def hj212(
    port: Annotated[
        int | None, typer.Option("--port", min=0, max=65535, help="TCP port (default 9212)")
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="address to listen on (default 127.0.0.1)")
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt",
            help="also take JSON readings from this broker (mqtt://host:port), topics"
            " riskmap/readings and riskmap/readings/<point id>",
        ),
    ] = None,
) -> None:
    """Take HJ 212-2017 packets from monitoring devices (尾矿库、危化品、烟花爆竹 sensors) on
    TCP: length and CRC checked, MN and factor mapped to monitoring points, readings written in
    batches, bad packets quarantined with the reason, answers (CN=9014) sent when asked; with
    --mqtt, JSON readings from a broker too. Settings: RISKMAP_HJ212_* (flush_rows, flush_ms,
    max_segment, idle_timeout_s, mqtt_url, ...)."""
    import asyncio
    import logging
    import signal

    from riskmap.ingest.worksafety.mqtt import MqttReadings
    from riskmap.ingest.worksafety.server import HJ212Server
    from riskmap.ingest.worksafety.settings import get_hj212_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    hs = get_hj212_settings()
    url = database_url(settings())
    server = HJ212Server(url, hs.options(host=host, port=port))
    mqtt_url = mqtt or hs.mqtt_url
    subscriber = MqttReadings(url, mqtt_url, hs.sink_options()) if mqtt_url else None

    async def main() -> None:
        bound = await server.start()
        out.print(f"HJ 212 server on {bound[0]}:{bound[1]} (ingest log {server.ingest_id})")
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):  # stop listening, write what is pending
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        serving = asyncio.create_task(server.serve_forever())
        reading = asyncio.create_task(subscriber.run()) if subscriber else None
        if subscriber:
            out.print(
                f"MQTT readings from {mqtt_url}",
                "(topics riskmap/readings, riskmap/readings/<point id>)",
            )
        await stop.wait()
        serving.cancel()
        if reading is not None:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
            out.print(f"MQTT stopped: {dict(subscriber.sink.stats)}")
        await server.close()
        out.print(f"HJ 212 stopped: {dict(server.stats)}")

    try:  # uvloop (with uvicorn[standard]) when there: its socket loop costs less a packet
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(main())
