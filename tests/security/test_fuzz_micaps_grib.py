"""Fuzzing the MICAPS (type 3 and 4) and GRIB readers with damaged files.

The property: the feed's ``parse`` returns a Batch whose problems name their line or message
and give a reason, and whose grid periods are real, north-up and in plausible mm; or it raises
one of the project's errors naming the file. Anything else (an IndexError, a MemoryError from
a header claiming a billion cells, an OverflowError from a lead of 10^30 hours) is a bug.
"""

from __future__ import annotations

import itertools
import math
import re
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given

from riskmap.geo.errors import DataError
from riskmap.geo.vocabulary import RAIN_MAX_MM
from riskmap.ingest.batch import Batch, Context, FeedReadError
from riskmap.ingest.feeds.grids import RainGridFeed
from riskmap.ingest.feeds.micaps import MicapsStationFeed
from tests.conftest import SHARED_DATA
from tests.ingest.micaps_files import rain_field, write_micaps3, write_micaps4
from tests.security.fuzz_support import Samples, fuzz_settings, mutated, no_hang, rows

LABEL = re.compile(r"^(line \d+|message \d+|grid|lead)")
_serial = itertools.count()


def _samples(tmp: Path) -> tuple[Samples, Samples]:
    when = datetime(2026, 7, 14, 8)
    grids = Samples(
        write_micaps4(tmp / f"g{i}", rain_field(i, missing=2), when, lead=lead,
                      north_first=bool(i % 2), year_digits=2 + 2 * (i % 2)).read_bytes()
        for i, lead in enumerate((0, 24))
    )  # fmt: skip
    stations = [("Q8101", 109.8, 27.87, 300.0, "12.5"), ("57745", 109.68, 27.45, 272.0, "9999")]
    points = Samples([write_micaps3(tmp / "s", stations, when).read_bytes()])
    return grids, points


with tempfile.TemporaryDirectory(prefix="fuzz-micaps-") as _tmp:
    MICAPS4, MICAPS3 = _samples(Path(_tmp))
GRIBS = Samples(p.read_bytes() for p in sorted((SHARED_DATA / "rain" / "grib").iterdir()))


def _fresh(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / f"case{next(_serial)}"
    folder.mkdir()
    path = folder / "damaged.000"
    path.write_bytes(data)
    return path


def _outcome(parse, path: Path) -> Batch | None:
    try:
        with no_hang():
            batch = parse()
    except DataError as exc:
        assert path.name in str(exc) and len(str(exc)) > len(path.name) + 5, str(exc)
        event("refused, naming the file")
        return None
    assert isinstance(batch, Batch)
    for p in batch.problems:
        assert LABEL.match(p.record), f"problem names no line or message: {p}"
        assert p.reason.strip() and (p.field or "not a" in p.reason), p
    event("parsed" + (" with problems" if batch.problems else ""))
    return batch


def _check_grids(batch: Batch) -> None:
    for d in rows(batch, "grid_definition"):
        a, b, _c, _d, e, _f = d["transform"]
        assert all(map(math.isfinite, d["transform"])) and a > 0 and e < 0 and b == 0
    for r in rows(batch, "grid_file"):
        assert r["valid_start"] < r["valid_end"] and r["product"] in ("qpe", "qpf"), r
        assert r["valid_cells"] > 0 and 0 <= r["max_mm"] < RAIN_MAX_MM, r


def _parse_grid(tmp_path: Path, data: bytes) -> None:
    path = _fresh(tmp_path, data)
    ctx = Context(conn=None, data_dir=path.parent / "store", source="fuzz")  # type: ignore[arg-type]
    batch = _outcome(lambda: RainGridFeed().parse(path, ctx), path)
    if batch is not None:
        _check_grids(batch)


@fuzz_settings(1.0)
@given(data=mutated(MICAPS4, delimiter=b" "))
def test_damaged_micaps4_grids_are_read_or_refused(tmp_path: Path, data: bytes) -> None:
    _parse_grid(tmp_path, data)


@fuzz_settings(1.0)
@given(data=mutated(GRIBS))
def test_damaged_grib_files_are_read_or_refused(tmp_path: Path, data: bytes) -> None:
    _parse_grid(tmp_path, data)


@fuzz_settings(1.0)
@given(data=mutated(MICAPS3, delimiter=b" "))
def test_damaged_micaps3_station_files_are_read_or_refused(conn, tmp_path: Path, data) -> None:
    path = _fresh(tmp_path, data)
    ctx = Context(conn=conn, data_dir=tmp_path, source="fuzz")
    batch = _outcome(lambda: MicapsStationFeed().parse(path, ctx), path)
    conn.rollback()
    if batch is not None:
        for r in rows(batch, "rain_obs"):
            assert r["stcd"].startswith("CMA") and np.isfinite(r["drp"]) and r["drp"] >= 0, r


def test_a_header_claiming_a_billion_cells_is_refused(tmp_path: Path) -> None:
    text = MICAPS4[0].decode().replace("19 16 10.0", "100000 100000 10.0")
    path = _fresh(tmp_path, text.encode())
    ctx = Context(conn=None, data_dir=tmp_path, source="t")  # type: ignore[arg-type]
    with pytest.raises(FeedReadError, match=r"damaged\.000: field nlon/nlat: 100000 × 100000"):
        RainGridFeed().parse(path, ctx)
