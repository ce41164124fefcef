"""`riskmap demo`: the whole pipeline on the demo county, then the server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from riskmap.api.cli.common import (
    DEFAULT_SEED,
    CityOpt,
    CountyOpt,
    SeedOpt,
    VillagesOpt,
    console,
    database_url,
    out,
    settings,
)
from riskmap.api.cli.frequency import demo_frequency
from riskmap.api.cli.risk import risk_build
from riskmap.api.cli.serve import run_server
from riskmap.geo.settings import Settings


def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="load and exit, do not serve")
    ] = False,
    county: CountyOpt = None,
    villages: VillagesOpt = None,
    seed: SeedOpt = DEFAULT_SEED,
    storm_start: Annotated[
        str | None,
        typer.Option(
            "--storm-start",
            help="when the storm day begins (ISO time with zone, e.g. 2026-07-14T00:00Z, the"
            " bundled files' date); default: so that it ends at the current hour",
        ),
    ] = None,
    city: CityOpt = None,
) -> None:
    """Run the whole demo: database, demo county, the storm's feeds and rules; then serve.

    With ``--city``: every county of the city, the storm over ``--county`` (default: the
    largest) while the others stay quiet, and the risk maps of all of them."""
    start = _zoned(storm_start, "--storm-start") if storm_start else None
    s = settings()
    url = database_url(s)
    if city is not None:
        storm = _city_demo(s, url, city, county, villages, seed, start)
    else:
        storm = _county_demo(s, url, county or s.default_county, villages, seed, start)
    demo_token(url, _console_url(s.host, s.port), storm_days(storm) if storm else ())
    if no_serve:
        return
    _serve_with_delivery(s, url)


def _county_demo(
    s: Settings, url: str, county: str, villages: int | None, seed: int, start: datetime | None
) -> datetime | None:
    """One county: loaded, its storm replayed, its risk maps built; the storm's start."""
    from riskmap.api.cli.demo_load import load_demo

    summary = load_demo(
        s, url, county, villages, seed, console, with_scenario=True, storm_start=start
    )
    out.print(summary.table())
    if summary.timeline:
        out.print(summary.timeline_table())
        _site_lines(summary)
    _annual_maxima(s, url, county, seed)
    risk_build(county=county, dem=None, forest=None, city=None)
    demo_frequency(url)  # the archive's annual maxima, where the demo wrote them
    return summary.storm_start


def _site_lines(summary) -> None:
    lines = summary.site_lines()
    if lines:
        out.print("安全生产监测 / work-safety sites through the storm:", highlight=False)
        for line in lines:
            out.print(f"  {line}", soft_wrap=True, highlight=False)


def _annual_maxima(s: Settings, url: str, county: str, seed: int) -> None:
    """Ten synthetic years of hourly rain over the county → each village's annual maxima."""
    import psycopg

    from riskmap.geo.archive.demo import demo_annual_maxima

    with psycopg.connect(url) as conn:
        got = demo_annual_maxima(conn, county, seed, s.data_dir / "cache")
    if got is None or got.report is None:
        return
    r = got.report
    made = f"generated in {got.generated_s:.1f} s" if got.generated_s else "reused"
    console.print(
        f"demo: annual maxima (1–24 h) of {r.villages} villages from 10 synthetic years"
        f" ({made}; {r.rows:,} rows of {r.source!r} in {r.seconds:.1f} s)"
    )


def _city_demo(
    s: Settings,
    url: str,
    city: str,
    storm_county: str | None,
    villages: int | None,
    seed: int,
    start: datetime | None,
) -> datetime | None:
    """Every county of a city: loaded, the storm over one of them, all their risk maps; the
    storm's start."""
    from riskmap.api.cli.demo_city import load_city

    summary = load_city(
        s,
        url,
        city,
        villages,
        seed,
        console,
        with_scenario=True,
        storm_county=storm_county,
        storm_start=start,
    )
    out.print(summary.table())
    if summary.storm is not None:
        out.print(summary.storm.table())
        out.print(summary.storm.timeline_table())
        _site_lines(summary.storm)
    risk_build(county=None, dem=None, forest=None, city=city)
    demo_frequency(url)
    return summary.storm.storm_start if summary.storm is not None else None


def _serve_with_delivery(s, url: str) -> None:
    """The API with the dispatcher, the reference receiver, the fake SMS gateway and MQTT."""
    import os

    from riskmap.api.cli import demo_delivery
    from riskmap.api.cli.companions import companions
    from riskmap.geo.settings import get_settings

    with companions(s.data_dir / "logs") as children:
        delivery = demo_delivery.start(s, url, children)
        os.environ.update(delivery.env)  # the API verifies the gateway's receipts with its key
        get_settings.cache_clear()
        try:
            run_server(get_settings(), s.host, s.port, s.workers)
        finally:
            if delivery.broker is not None:
                delivery.broker.stop()


def _console_url(host: str, port: int) -> str:
    """Where a browser on this machine finds the console served by `riskmap serve`."""
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _zoned(text: str, option: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO time: {text!r}", param_hint=option) from exc
    if at.tzinfo is None:
        raise typer.BadParameter("give a zone, e.g. 2026-07-14T08:00+08:00", param_hint=option)
    return at.astimezone(UTC)


# The demo's accounts: (name, role, display name, password). The passwords are fixed and
# written here on purpose: the demo serves a synthetic county on 127.0.0.1, its guide and the
# web console's developers can rely on them, and a random password would be printed all the
# same. A bureau's real accounts get theirs with `riskmap users passwd NAME`.
DEMO_ACCOUNTS = (
    ("demo-forecaster", "forecaster", "演示预报员", "mayang-demo-2026"),
    ("demo-viewer", "viewer", "演示只读用户", "mayang-viewer-2026"),
    # starts the storm's flood-control response (geo/responses/demo.py: DEMO_COMMANDER)
    ("demo-commander", "commander", "演示指挥长", "mayang-command-2026"),
)


def storm_days(start: datetime) -> list[date]:
    """The Beijing days the replayed storm touched (the 值班日报 is one Beijing day): one for
    the bundled date, often two for the live replay, which ends at the current hour."""
    from riskmap.api.cli.demo_load import TIMELINE_HOURS

    zone = ZoneInfo("Asia/Shanghai")
    first = start.astimezone(zone).date()
    last = (start + timedelta(hours=TIMELINE_HOURS)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def demo_token(
    url: str, console_url: str = "http://127.0.0.1:8000/", report_days: Sequence[date] = ()
) -> None:
    """The demo's accounts, with passwords for the web console and a forecaster token for
    trying the review actions with curl (running it again resets them; tokens accumulate);
    where the storm's 值班日报 (duty report) downloads."""
    import psycopg

    from riskmap.api.passwords import set_password
    from riskmap.api.users import add_user, new_token

    with psycopg.connect(url, autocommit=True) as conn:
        for name, role, display_name, password in DEMO_ACCOUNTS:
            add_user(conn, name, role, display_name=display_name)
            set_password(conn, name, password)
        token = new_token(conn, "demo-forecaster", label="make demo")
    (forecaster, _, _, forecaster_pw), (viewer, _, _, viewer_pw), commander = DEMO_ACCOUNTS
    out.print(
        f"控制台 console: {console_url}\n"
        f"  预报员 forecaster: {forecaster} / {forecaster_pw}\n"
        f"  只读 viewer: {viewer} / {viewer_pw}\n"
        f"  指挥长 commander (应急响应): {commander[0]} / {commander[3]}\n"
        "演示预报员令牌 demo forecaster token (review actions; `riskmap users` manages accounts):\n"
        f"  export RISKMAP_TOKEN={token}\n"
        f'  curl -H "Authorization: Bearer $RISKMAP_TOKEN" {console_url}api/me',
        highlight=False,
        soft_wrap=True,
    )
    if report_days:
        days = "、".join(d.isoformat() for d in report_days)
        out.print(
            f"值班日报 duty report of the storm ({days}): the console's 值班日报, or\n"
            + "\n".join(
                f'  curl -H "Authorization: Bearer $RISKMAP_TOKEN" -o duty-report-{d}.pdf'
                f' "{console_url}api/duty/report?date={d}&format=pdf"'
                for d in report_days
            ),
            highlight=False,
            soft_wrap=True,
        )
