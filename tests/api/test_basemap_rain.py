"""The rain time slider's periods when the catalogue holds more than the storm: two forecast
issues that end a period together, analyses of different lengths ending together, and one just
outside the 24 hours. Grids go through the real ingest pipeline into a copy of the storm
database; each listed period must be the grid the tiles draw for ``period=valid_end``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
import xarray as xr
from psycopg import sql
from psycopg.rows import dict_row

from riskmap.api.tiles import raster
from riskmap.ingest.pipeline import ingest_file
from tests.conftest import clone_database
from tests.ingest.test_grids import NX, NY, ll_coords

H = timedelta(hours=1)


@pytest.fixture(scope="module")
def grids_url(pg_cluster, storm_url: str) -> Iterator[str]:
    url = clone_database(pg_cluster, storm_url, prefix="t_basemap")
    yield url
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _qpf(path: Path, issued: datetime, leads: list[float], mm: float) -> Path:
    """A forecast run: accumulations over (previous lead, lead] hours after ``issued``."""
    lon, lat = ll_coords()
    amounts = np.full((len(leads), NY, NX), mm, np.float32)
    xr.Dataset(
        {"qpf": (("step", "lat", "lon"), amounts, {"units": "kg m-2"})},
        coords={
            "step": (
                "step",
                np.array(leads),
                {"units": "hours", "standard_name": "forecast_period"},
            ),
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
            "forecast_reference_time": (
                (),
                issued.timestamp(),
                {"units": "seconds since 1970-01-01", "standard_name": "forecast_reference_time"},
            ),
        },
    ).to_netcdf(path)
    return path


def _qpe(path: Path, start: datetime, end: datetime, mm: float) -> Path:
    """One analysis of the rain over [start, end]."""
    lon, lat = ll_coords()
    ends = np.array([end.timestamp()])
    xr.Dataset(
        {
            "precipitation": (
                ("time", "lat", "lon"),
                np.full((1, NY, NX), mm, np.float32),
                {"units": "mm", "standard_name": "precipitation_amount", "_FillValue": -9999.0},
            ),
            "time_bnds": (("time", "nv"), np.array([[start.timestamp(), end.timestamp()]])),
        },
        coords={
            "time": (
                "time",
                ends,
                {"units": "seconds since 1970-01-01 00:00:00", "bounds": "time_bnds"},
            ),
            "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
        },
    ).to_netcdf(path, encoding={"time": {"dtype": "float64"}})
    return path


def _span(p: raster.RainPeriod | raster.GridRef) -> tuple[datetime, datetime, datetime]:
    return p.valid_start, p.valid_end, p.issued_at


def test_periods_are_the_grids_the_tiles_draw(grids_url: str, tmp_path: Path) -> None:
    with psycopg.connect(grids_url, row_factory=dict_row) as conn:
        before = conn.execute(
            "SELECT max(valid_end) FILTER (WHERE product = 'qpe') AS qpe_end,"
            " max(issued_at) FILTER (WHERE product = 'qpf') AS qpf_issue FROM grid_file"
        ).fetchone()
        storm_qpe = raster.periods(conn, "qpe")
    end, issue = before["qpe_end"], before["qpf_issue"]
    old, new = issue + H, issue + 4 * H
    files = [
        _qpf(tmp_path / "old.nc", old, [float(h) for h in range(1, 10)], 1.0),  # 1 h each
        _qpf(tmp_path / "new.nc", new, [1.0, 2.0, 3.0, 6.0], 2.0),  # …, then (3 h, 6 h]
        _qpe(tmp_path / "3h.nc", end - 3 * H, end, 9.0),  # ends with the last hourly one
        _qpe(tmp_path / "old-hour.nc", end - 25 * H, end - 24 * H, 5.0),  # 24 h before it
    ]
    with psycopg.connect(grids_url) as conn:
        for path in files:
            summary = ingest_file(conn, path, data_dir=tmp_path / "store")
            assert summary.status == "loaded", summary.message
    with psycopg.connect(grids_url, row_factory=dict_row) as conn:
        qpf = raster.periods(conn, "qpf")
        qpe = raster.periods(conn, "qpe")
        drawn = {
            (p.product, p.valid_end): raster.find_grid(conn, p.product, p.valid_end)
            for p in qpf + qpe
        }

    # forecasts: the latest issue's four periods; where the older issue's hourly period ends
    # with the newer issue's 3-hour one (new + 6 h = old + 9 h), the newer forecast is drawn
    assert [_span(p) for p in qpf] == [
        (new, new + H, new),
        (new + H, new + 2 * H, new),
        (new + 2 * H, new + 3 * H, new),
        (new + 3 * H, new + 6 * H, new),
    ]
    assert [p.max_mm for p in qpf] == pytest.approx([2.0] * 4)
    # analyses: unchanged, the storm's 24 hourly ones: the 3-hour analysis ending with the last
    # hour is not the one drawn, and the hour ending 24 h before the latest is outside
    assert [_span(p) for p in qpe] == [_span(p) for p in storm_qpe]
    assert len(qpe) == 24 and all(p.hours == 1.0 for p in qpe)
    assert qpe[0].valid_end == end - 23 * H and qpe[-1].valid_end == end
    for p in qpf + qpe:
        assert _span(drawn[p.product, p.valid_end]) == _span(p), p
        assert drawn[p.product, p.valid_end].hours == p.hours
