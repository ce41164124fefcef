"""`riskmap frequency …`: rainfall frequency per village from the archive's annual maxima."""

from __future__ import annotations

from typing import Annotated

import typer

from riskmap.api.cli.common import console, database_url, out, settings
from riskmap.geo.errors import InvalidArgumentError

app = typer.Typer(
    help="Rainfall frequency (暴雨频率): fits of the archive's annual maxima per village.",
    no_args_is_help=True,
)


@app.command("run")
def frequency_run(
    source: Annotated[
        str, typer.Option("--source", help="archive label (village_rain_annual_max.source)")
    ],
    bootstrap: Annotated[
        int,
        typer.Option("--bootstrap", min=0, max=10000, help="parametric-bootstrap samples"),
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="bootstrap seed")] = 0,
    ci: Annotated[
        float, typer.Option("--ci", min=0.5, max=0.99, help="confidence level of the intervals")
    ] = 0.90,
) -> None:
    """Fit every village and duration of ``--source`` (Gumbel; GEV for long records when a
    likelihood-ratio test favours it), judge the critical rainfall against the fit and replace
    the source's stored frequencies in one transaction."""
    import psycopg

    from riskmap.geo.frequency.batch import run_frequency

    with psycopg.connect(database_url(settings())) as conn:
        summary = run_frequency(conn, source, bootstrap_samples=bootstrap, seed=seed, ci_level=ci)
    if summary.series == 0:
        raise InvalidArgumentError(
            f"no annual maxima for source {source!r} in village_rain_annual_max; "
            "run `riskmap archive stats` first"
        )
    console.print(f"source {source}: {summary.series} village × duration series")
    out.print(
        f"fitted {summary.fitted}, not fitted {summary.not_fitted} (too few complete years); "
        f"over_warn {summary.over_warn}, may_never_warn {summary.may_never_warn}"
    )


#: the archive label `riskmap demo` writes its synthetic annual maxima under
DEMO_SOURCE = "demo-synthetic-10y"


def demo_frequency(url: str, source: str = DEMO_SOURCE) -> None:
    """The demo's step after its archive: fit the demo source when it has annual maxima, and
    say so (no archive rows: nothing to fit, the demo goes on)."""
    import psycopg

    from riskmap.geo.frequency.batch import run_frequency

    with psycopg.connect(url) as conn:
        summary = run_frequency(conn, source)
    if summary.series == 0:
        console.print(f"[dim]frequency: no annual maxima for {source}; nothing to fit[/dim]")
        return
    out.print(
        f"frequency ({source}): {summary.fitted} fitted, over_warn {summary.over_warn}, "
        f"may_never_warn {summary.may_never_warn}"
    )
