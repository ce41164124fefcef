"""Risk maps of several counties at once, each village on the terrain that covers it.

Design choice: **one run per DEM, each with the villages of the counties that chose it** (a
county's own catalogued DEM first, else one covering it; see ``risk_county_dems.sql``), rather
than a mosaic or a VRT of every DEM:

* the demo synthesises each county's DEM over its own bounding box, so neighbouring DEMs overlap
  with unrelated terrain; a mosaic would have to pick one arbitrarily in the overlap, and HAND
  and drainage routed across the seam would be nonsense. A county's villages are scored on the
  terrain its rivers, stations and hazard points were drawn from;
* a run touches only its own villages' rows, in its own transaction: building, rebuilding or
  failing one county never changes another's maps, and ``--county`` rebuilds just one;
* memory stays that of one DEM (a city mosaic at 90 m is ~10⁷ cells, each terrain layer a
  copy of it), and a real regional DEM catalogued once is still read once per run: counties
  that choose the same file share one run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.risk.build import RiskResult, build_risk

SQL = SqlFiles("riskmap.geo.sql")


@dataclass(frozen=True)
class CountyDem:
    """The DEM chosen for a county's villages (``path`` None: no catalogued DEM meets it)."""

    county: str
    villages: int
    dem_id: str | None
    path: Path | None


@dataclass
class CountyRuns:
    """What :func:`build_counties` did: one result per DEM run, and counties with no DEM."""

    runs: list[tuple[tuple[str, ...], RiskResult]] = field(default_factory=list)
    no_dem: list[str] = field(default_factory=list)

    @property
    def villages(self) -> int:
        return sum(r.villages for _, r in self.runs)

    @property
    def skipped(self) -> list[str]:
        return [c for _, r in self.runs for c in r.skipped]


def county_dems(conn: psycopg.Connection, counties: Sequence[str] | None = None) -> list[CountyDem]:
    """Each county with villages (all, or ``counties``) and the DEM its maps are built from."""
    rows = SQL.rows(
        conn,
        "risk_county_dems.sql",
        {"counties": list(counties) if counties is not None else None},
        shape="tuple",
    )
    return [
        CountyDem(code, int(n), dem_id, Path(path) if path else None)
        for code, n, dem_id, path in rows
    ]


def build_counties(
    conn: psycopg.Connection,
    counties: Sequence[str] | None = None,
    *,
    forest_path: str | Path | None = None,
    cache_dir: Path | None = None,
    on_run: Callable[[tuple[str, ...], int, int], None] = lambda _c, _i, _n: None,
) -> CountyRuns:
    """Build the risk maps of every loaded county (or of ``counties``), one run per DEM.

    Parameters
    ----------
    conn : connection; each run commits its rows in its own transaction.
    counties : six-digit GB/T 2260 codes; None for every county with villages.
    forest_path : forest-cover GeoTIFF for every run; None derives one per DEM.
    cache_dir : zonal weights cache (see :func:`~.build.build_risk`).
    on_run : called before each run with its counties, its index and the number of runs.

    Raises
    ------
    ValueError
        If a county of ``counties`` has no villages.
    """
    chosen = county_dems(conn, counties)
    missing = sorted(set(counties or ()) - {c.county for c in chosen})
    if missing:
        raise ValueError(f"no villages to map in county {', '.join(missing)}")
    groups: dict[Path, list[str]] = {}
    out = CountyRuns()
    for c in chosen:
        if c.path is None:
            out.no_dem.append(c.county)
        else:
            groups.setdefault(c.path, []).append(c.county)
    for i, (path, codes) in enumerate(groups.items()):
        on_run(tuple(codes), i, len(groups))
        result = build_risk(
            conn, path, forest_path=forest_path, counties=codes, cache_dir=cache_dir
        )
        conn.commit()
        out.runs.append((tuple(codes), result))
    return out
