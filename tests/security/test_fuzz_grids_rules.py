"""Fuzzing the rain-grid reader (CF-NetCDF and GeoTIFF) and the rule files.

Grids are written with xarray / rasterio into temporary files from random definitions and then
damaged: wrong or missing dimensions and coordinates, irregular axes, NaN / negative / huge
values, wrong units and calendars, garbage time references and bounds, no CRS or a bad one,
rotated and south-up transforms, odd tags — and truncated files or flipped bytes. Rule files are
the built-in ones damaged at byte, line and YAML-value level, with random condition expressions.

The property: ``RainGridFeed.parse`` returns a Batch whose periods are real, in mm and
north-up, or raises ``FeedReadError`` naming the file; ``load_file`` compiles rules whose
conditions evaluate on any numbers, or raises ``RuleFileError`` naming the file (and the rule
and line where it can).
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
import xarray as xr
import yaml
from affine import Affine
from hypothesis import event, example, given
from hypothesis import strategies as st

from riskmap.geo.errors import DataError
from riskmap.geo.rules.load import BUILTIN_DIR, RuleFileError, evaluate_levels, load_file
from riskmap.geo.vocabulary import RAIN_MAX_MM
from riskmap.ingest.batch import Batch, Context
from riskmap.ingest.feeds.grids import RainGridFeed
from tests.security.fuzz_support import (
    Samples,
    finite,
    fuzz_settings,
    mutated,
    nasty_json,
    nasty_text,
    no_hang,
    outcome,
    rows,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::rasterio.errors.NotGeoreferencedWarning",  # the "no CRS" damage, on purpose
    "ignore::pytest.PytestUnraisableExceptionWarning",  # rasterio logging GDAL's odd bytes
    "ignore::RuntimeWarning",  # numpy / shapely on the NaN and 1e300 coordinates, on purpose
)

# -- rain grids -------------------------------------------------------------------------------

_serial = itertools.count()  # a new folder per example: the readers may keep files open


def _fresh(tmp_path: Path) -> Path:
    folder = tmp_path / str(next(_serial))
    folder.mkdir()
    return folder


def check_grid(batch: Batch) -> None:
    """Every catalogued period is real, north-up and in plausible mm."""
    (definition,) = rows(batch, "grid_definition")
    a, b, c, d, e, f = definition["transform"]
    assert all(map(math.isfinite, (a, b, c, d, e, f))) and a > 0 and e < 0 and b == d == 0
    assert definition["width"] >= 1 and definition["height"] >= 1
    footprint = definition["footprint"]
    assert shapely.is_valid(footprint) and not footprint.is_empty, footprint
    x0, y0, x1, y1 = footprint.bounds
    assert -360 <= x0 <= x1 <= 360 and -90 <= y0 <= y1 <= 90, f"footprint off Earth: {footprint}"
    files = rows(batch, "grid_file")
    assert files, "a batch without periods"
    for r in files:
        assert r["valid_start"] < r["valid_end"], r
        assert finite(r["to_mm"]) and r["to_mm"] > 0, r
        assert r["valid_cells"] > 0 and r["invalid_cells"] >= 0, r
        assert finite(r["max_mm"]) and 0 <= r["max_mm"] < RAIN_MAX_MM, r
        assert r["product"] in ("qpe", "qpf"), r


def parse_grid(path: Path) -> None:
    ctx = Context(conn=None, data_dir=path.parent / "store", source="fuzz")  # type: ignore[arg-type]
    batch = outcome(lambda: RainGridFeed().parse(path, ctx), path)
    if batch is not None:
        check_grid(batch)


_CELL_VALUES = st.one_of(
    st.floats(0.0, 50.0), st.sampled_from([np.nan, -1.0, -9999.9, 99999.0, np.inf, -np.inf, 1e30])
)
_UNITS = st.one_of(
    st.sampled_from(["mm/h", "mm hr-1", "kg m-2 s-1", "m", "kg m-2", "K", "furlongs", ""]),
    nasty_text,
)
_TIME_UNITS = st.one_of(
    st.sampled_from(
        [
            "hours since 2026-07-14T00:00:00Z",
            "days since 0001-01-01",
            "days since 9999-12-31",
            "months since 2026-01-01",
            "hours since garbage",
            "",
        ]
    ),
    nasty_text,
)
_BAD_TIMES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e20, -1e20, 1e300])
)
#: What can be wrong with a generated NetCDF grid (a few at a time, so some still parse).
NC_DAMAGES = (
    "units", "no units", "time units", "calendar", "times", "unequal times", "bounds width",
    "no bounds", "x axis", "y axis", "lon before lat", "extra dim", "no time", "no x coord",
    "projected", "bad grid_mapping", "reference time", "station", "tags", "not rain",
    "anonymous dims", "one cell",
)  # fmt: skip


def _axis_damage(draw: st.DrawFn, values: np.ndarray) -> np.ndarray:
    damage = draw(st.sampled_from(["reverse", "irregular", "nan", "same", "huge"]))
    values = values.copy()
    if damage == "reverse":
        return values[::-1].copy()
    if damage == "irregular" and len(values) > 2:
        values[-1] += (values[1] - values[0]) * 0.5
    elif damage == "nan":
        values[draw(st.integers(0, len(values) - 1))] = np.nan
    elif damage == "same":
        values[:] = values[0]
    elif damage == "huge":
        values = values * 1e300
    return values


@st.composite
def netcdf_grids(draw: st.DrawFn) -> tuple[xr.Dataset, dict, str, str]:
    """A small CF grid with up to three damages; returns (dataset, encoding, format, name)."""
    damages = draw(st.sets(st.sampled_from(NC_DAMAGES), max_size=3))
    nx, ny = (1, 1) if "one cell" in damages else (draw(st.integers(2, 5)), draw(st.integers(2, 4)))
    nt = draw(st.integers(1, 3))
    times = 1.0 + np.arange(nt, dtype=np.float64)  # hours: period ends
    if "times" in damages:
        times[draw(st.integers(0, nt - 1))] = draw(_BAD_TIMES)
    if "unequal times" in damages and nt > 2:
        times[-1] += 0.5
    values = np.asarray(
        draw(st.lists(_CELL_VALUES, min_size=nt * nx * ny, max_size=nt * nx * ny)),
        dtype=np.float32,
    ).reshape(nt, ny, nx)
    projected = "projected" in damages or "bad grid_mapping" in damages
    xname, yname = ("x", "y") if projected else ("lon", "lat")
    if "anonymous dims" in damages:
        xname, yname = "dim_a", "dim_b"
    x = (500000.0 if projected else 109.3) + (1000.0 if projected else 0.02) * np.arange(nx)
    y = (3100000.0 if projected else 27.5) + (1000.0 if projected else 0.02) * np.arange(ny)
    if "x axis" in damages:
        x = _axis_damage(draw, x)
    if "y axis" in damages:
        y = _axis_damage(draw, y)
    if projected:
        x_attrs = {"standard_name": "projection_x_coordinate", "units": "m"}
        y_attrs = {"standard_name": "projection_y_coordinate", "units": "m"}
    else:
        x_attrs, y_attrs = {"units": "degrees_east"}, {"units": "degrees_north"}
    coords: dict = {xname: (xname, x, x_attrs), yname: (yname, y, y_attrs)}
    var_attrs: dict = {"standard_name": "precipitation_amount", "units": "mm"}
    if "units" in damages:
        var_attrs["units"] = draw(_UNITS)
    if "no units" in damages:
        del var_attrs["units"]
    time_attrs = {"units": "hours since 2026-07-14T00:00:00Z", "bounds": "time_bnds"}
    if "time units" in damages:
        time_attrs["units"] = draw(_TIME_UNITS)
    if "calendar" in damages:
        time_attrs["calendar"] = draw(
            st.one_of(st.sampled_from(["julian", "360_day", "noleap", ""]), nasty_text)
        )
    width = 3 if "bounds width" in damages else 2
    data_vars: dict = {
        "time_bnds": (("time", "nv"), np.column_stack([times - 1.0] + [times] * (width - 1)))
    }
    if "no bounds" in damages:
        del data_vars["time_bnds"], time_attrs["bounds"]
    coords["time"] = ("time", times, time_attrs)
    dims = ["time", yname, xname]
    if "lon before lat" in damages:
        dims, values = ["time", xname, yname], values.transpose(0, 2, 1)
    if "extra dim" in damages:
        dims, values = ["level", *dims], np.stack([values] * draw(st.integers(1, 2)))
    if "no time" in damages:
        dims.remove("time")
        values = values[0] if values.ndim == 3 else values[:, 0]
        del coords["time"]
        data_vars.pop("time_bnds", None)
    if projected and "projected" in damages:
        var_attrs["grid_mapping"] = "crs"
        data_vars["crs"] = ((), 0, {"crs_wkt": rasterio.crs.CRS.from_epsg(4527).to_wkt()})
    if "bad grid_mapping" in damages:
        var_attrs["grid_mapping"] = "crs"
        data_vars["crs"] = ((), 0, draw(st.sampled_from([{"crs_wkt": "nonsense"}, {"a": "b"}])))
    if "no x coord" in damages:
        coords.pop(xname)
    if "reference time" in damages:
        coords["forecast_reference_time"] = ((), 0.0, {"units": draw(_TIME_UNITS)})
    name = "temperature" if "not rain" in damages else draw(st.sampled_from(["precip", "tp"]))
    data_vars[name] = (dims, values, var_attrs)
    attrs = {"Conventions": "CF-1.8"}
    if "station" in damages:
        attrs["featureType"] = "timeSeries"
    if "tags" in damages:
        attrs.update(
            RISKMAP_PRODUCT=draw(st.sampled_from(["qpe", "qpf", "QPE", "radar"])),
            RISKMAP_VALID_START=draw(st.sampled_from(["2026-07-14T00:00", "x", "9999-99-99"])),
            RISKMAP_VALID_END=draw(st.sampled_from(["2026-07-14T01:00", "2026-07-13T00:00"])),
        )
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    fmt = draw(st.sampled_from(["NETCDF4", "NETCDF4", "NETCDF3_CLASSIC"]))
    encoding = {name: {"_FillValue": draw(st.sampled_from([-9999.9, None, np.nan]))}}
    file_name = draw(st.sampled_from(["rain.nc", "x_qpe_202607140000_202607140100.nc"]))
    return ds, encoding, fmt, file_name


def _grid(times=(1.0,), bounds=None, lon=(109.3, 109.32, 109.34), fmt="NETCDF4") -> tuple:
    """A plain 2 × 3 hourly grid as ``netcdf_grids`` draws them (for explicit examples)."""
    t = np.asarray(times, dtype=np.float64)
    b = np.column_stack([t - 1.0, t]) if bounds is None else np.asarray(bounds, dtype=np.float64)
    ds = xr.Dataset(
        {
            "time_bnds": (("time", "nv"), b),
            "precip": (
                ("time", "lat", "lon"),
                np.ones((len(t), 2, 3), dtype=np.float32),
                {"standard_name": "precipitation_amount", "units": "mm"},
            ),
        },
        coords={
            "lon": ("lon", np.asarray(lon, dtype=np.float64), {"units": "degrees_east"}),
            "lat": ("lat", 27.5 + 0.02 * np.arange(2), {"units": "degrees_north"}),
            "time": ("time", t, {"units": "hours since 2026-07-14", "bounds": "time_bnds"}),
        },
    )
    return ds, {}, fmt, "rain.nc"


NO_DAMAGE = ("none", 0, 0)


@st.composite
def file_damage(draw: st.DrawFn) -> tuple[str, int, int]:
    """What to do to a written grid file: nothing, truncate it, or flip one byte."""
    return (
        draw(st.sampled_from(["none"] * 3 + ["truncate", "flip"])),
        draw(st.integers(0, 2**31)),
        draw(st.integers(0, 255)),
    )


def _damage(path: Path, damage: tuple[str, int, int]) -> None:
    kind, at, byte = damage
    data = path.read_bytes()
    if kind == "truncate":
        path.write_bytes(data[: at % max(len(data), 1)])
    elif kind == "flip" and data:
        i = at % len(data)
        path.write_bytes(data[:i] + bytes([byte]) + data[i + 1 :])


@fuzz_settings(1.5)
@given(grid=netcdf_grids(), damage=file_damage())
@example(grid=_grid(times=(1e20,)), damage=NO_DAMAGE)  # timedelta overflow leaked
@example(grid=_grid(bounds=[[0.0, 1.0, 1.0]]), damage=NO_DAMAGE)  # 3 bounds: zip() ValueError
@example(grid=_grid(lon=(1e300, 2e300, 3e300)), damage=NO_DAMAGE)  # off Earth, catalogued
@example(grid=_grid(lon=(0.0, 1e308, 2e308)), damage=NO_DAMAGE)  # footprint: GEOSException
@example(grid=_grid(fmt="NETCDF3_CLASSIC"), damage=("flip", 164, 0x80))  # UnicodeDecodeError
def test_generated_netcdf_grids_are_read_or_refused(tmp_path: Path, grid, damage) -> None:
    ds, encoding, fmt, name = grid
    path = _fresh(tmp_path) / name
    try:
        ds.to_netcdf(path, format=fmt, encoding=encoding)
    except (ValueError, TypeError, OverflowError, RuntimeError):
        return  # xarray refuses to write it: nothing for the reader to read
    _damage(path, damage)
    parse_grid(path)


TIF_DAMAGES = ("values", "no crs", "projected", "south-up", "x decreasing", "rotated", "far away",
               "tags", "band tags", "no tags", "nodata", "bands", "named")  # fmt: skip


@st.composite
def geotiffs(draw: st.DrawFn) -> dict:
    """Arguments of a small GeoTIFF with up to three damages (CRS, transform, tags, bands)."""
    damages = draw(st.sets(st.sampled_from(TIF_DAMAGES), max_size=3))
    w, h = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    count = draw(st.integers(2, 3)) if "bands" in damages else 1
    cells = _CELL_VALUES if "values" in damages else st.floats(0.0, 50.0)
    values = np.asarray(
        draw(st.lists(cells, min_size=count * w * h, max_size=count * w * h)), dtype=np.float32
    ).reshape(count, h, w)
    crs = "EPSG:4527" if "projected" in damages else "EPSG:4326"
    crs = None if "no crs" in damages else crs
    cell = 1000.0 if crs == "EPSG:4527" else 0.02
    x0, y0 = (500000.0, 3.1e6) if crs == "EPSG:4527" else (109.3, 28.1)
    a, b, c, d, e, f = cell, 0.0, x0, 0.0, -cell, y0
    if "south-up" in damages:
        e, f = cell, y0 - h * cell
    if "x decreasing" in damages:
        a, c = -cell, x0 + w * cell
    if "rotated" in damages:
        b = d = cell / 10
    if "far away" in damages:
        c, f = 1e300, 1e300
    tags = {
        "RISKMAP_PRODUCT": "qpe",
        "RISKMAP_VALID_START": "2026-07-14T00:00",
        "RISKMAP_VALID_END": "2026-07-14T01:00",
        "RISKMAP_UNITS": "mm",
    }
    if "tags" in damages:
        for key, choices in (
            ("RISKMAP_PRODUCT", ["qpf", "rain"]),
            ("RISKMAP_VALID_START", ["2026-07-14T01:00+08:00", "x", "0001-01-01T00:00+05:00"]),
            ("RISKMAP_VALID_END", ["2026-07-13T00:00", "99999"]),
            ("RISKMAP_ISSUED", ["2026-07-13T18:00", "0001-01-01T00:00+05:00"]),
            ("RISKMAP_UNITS", ["mm/h", "K"]),
        ):
            if draw(st.booleans()):
                tags[key] = draw(st.one_of(st.sampled_from(choices), nasty_text))
    if "no tags" in damages:
        tags = {}
    band_tags = [{} for _ in range(count)]
    if "band tags" in damages:
        for t in band_tags:
            for k in draw(
                st.sampled_from([("RISKMAP_VALID_START", "RISKMAP_VALID_END"), ("units",)])
            ):
                t[k] = draw(st.one_of(st.just("2026-07-14T02:00"), nasty_text))
    return {
        "values": values,
        "crs": crs,
        "transform": Affine(a, b, c, d, e, f),
        "tags": tags,
        "band_tags": band_tags,
        "nodata": draw(st.sampled_from([-9999.0, np.nan, 0.0])) if "nodata" in damages else None,
        "name": "m_qpe_202607140000_202607140100.tif" if "named" in damages else "rain.tif",
    }


@fuzz_settings(1.5)
@given(tif=geotiffs(), damage=file_damage())
@example(  # a 4326 grid at x = 1e300: catalogued with an empty footprint
    tif={"values": np.ones((1, 2, 2), dtype=np.float32), "crs": "EPSG:4326", "nodata": None,
         "transform": Affine(0.02, 0, 1e300, 0, -0.02, 28.1), "band_tags": [{}],
         "tags": {"RISKMAP_PRODUCT": "qpe", "RISKMAP_VALID_START": "2026-07-14T00:00",
                  "RISKMAP_VALID_END": "2026-07-14T01:00", "RISKMAP_UNITS": "mm"},
         "name": "rain.tif"},
    damage=NO_DAMAGE,
)  # fmt: skip
def test_generated_geotiffs_are_read_or_refused(tmp_path: Path, tif, damage) -> None:
    path = _fresh(tmp_path) / tif["name"]
    count, h, w = tif["values"].shape
    try:
        with rasterio.open(
            path, "w", driver="GTiff", width=w, height=h, count=count, dtype="float32",
            crs=tif["crs"], transform=tif["transform"], nodata=tif["nodata"],
        ) as dst:  # fmt: skip
            dst.write(tif["values"])
            dst.update_tags(**tif["tags"])
            for i, t in enumerate(tif["band_tags"], start=1):
                dst.update_tags(i, **t)
    except (rasterio.errors.RasterioError, ValueError, TypeError):
        return  # GDAL refuses to write it
    _damage(path, damage)
    parse_grid(path)


@fuzz_settings(1.0)
@given(damage=file_damage(), which=st.sampled_from(["qpe", "qpf"]))
@example(damage=("flip", 15449, 0), which="qpe")  # HDF error reading the values leaked
def test_damaged_scenario_grids_are_read_or_refused(tmp_path: Path, damage, which) -> None:
    from tests.conftest import ROOT

    scenario = ROOT / "data" / "scenarios" / "storm-431226"
    source = sorted(scenario.glob(f"*_{which}_*.nc"))[0]
    path = _fresh(tmp_path) / source.name
    path.write_bytes(source.read_bytes())
    _damage(path, damage)
    parse_grid(path)


# -- rule files -------------------------------------------------------------------------------

RULE_FILES = sorted(BUILTIN_DIR.glob("*.yaml"))
RULE_SAMPLES = Samples(p.read_bytes() for p in RULE_FILES)
RULE_DOCS = Samples(yaml.safe_load(p.read_text(encoding="utf-8")) for p in RULE_FILES)


def load_rules_file(path: Path) -> None:
    """``load_file``: compiled rules whose conditions evaluate on any numbers, or a
    RuleFileError that names the file."""
    try:
        with no_hang():
            compiled = load_file(path)
    except RuleFileError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        assert exc.path == path and exc.message
        event("refused with RuleFileError" + (" and a line" if exc.line else ""))
        return
    except DataError as exc:  # any other of the project's errors is fine if it names the file
        assert str(path) in str(exc) or path.name in str(exc), str(exc)
        return
    event(f"compiled {'some' if compiled else 'no'} rules")
    n = 5
    values = {
        v: np.array([0.0, np.nan, np.inf, -1e308, 42.0]) for r in compiled for v in r.variables
    }
    for rule in compiled:
        levels = evaluate_levels(rule, values, np.ones(n, dtype=bool))
        assert levels.shape == (n,) and set(levels.tolist()) <= {-1, 0, 1, 2, 3}
        if rule.worst_by is not None:
            assert rule.worst_by.evaluate(values, n).shape == (n,)


@fuzz_settings(1.0)
@given(data=mutated(RULE_SAMPLES, delimiter=b": "))
@example(data="rules:\n  - id: 中文\n".encode("gbk"))  # not UTF-8: UnicodeDecodeError leaked
@example(data=b"? [a, b]\n: 1\n")  # a list as a mapping key: TypeError (unhashable) leaked
@example(data=b"rules: " + b"[" * 5000 + b"]" * 5000)  # nested too deep for PyYAML
@example(data=b"rules:\n  - id: x\n    version: 2024-02-30\n")  # a date PyYAML cannot make
@example(data=b"rules: !!int abc\n")  # an explicit tag on a wrong value: ValueError leaked
def test_damaged_rule_files_compile_or_name_file_rule_and_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(data)
    load_rules_file(path)


_NAMES = ["rain_1h", "rain_3h", "prep_1h", "now_6h", "river", "x", "_private", "__import__"]
_LEAVES = st.one_of(
    st.sampled_from(_NAMES),
    st.sampled_from(["0", "1.5", "1e309", "-1", "None", "True", "'text'", "b'x'", "1j", "..."]),
    st.integers(-(10**30), 10**30).map(str),
)


def _grow(inner: st.SearchStrategy) -> st.SearchStrategy:
    ops = ["+", "-", "*", "/", "%", "**", "//", "<", "<=", ">=", "==", "!=", "and", "or", "in",
           "is", "&", "|", "<<"]  # fmt: skip
    return st.one_of(
        st.tuples(inner, st.sampled_from(ops), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["not ", "-", "+", "~"]), inner).map("".join),
        st.tuples(
            st.sampled_from(["min", "max", "abs", "is_null", "coalesce", "eval", "open", "x.y"]),
            st.lists(inner, max_size=3),
        ).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(inner, st.sampled_from([".real", "[0]", " if 1 else 0", ", 1"])).map("".join),
        st.tuples(st.sampled_from(["lambda: ", "[", "{"]), inner).map("".join),
    )


expressions = st.one_of(
    st.recursive(_LEAVES, _grow, max_leaves=12),
    st.sampled_from(
        [
            "not " * 3000 + "rain_1h",
            "-" * 20000 + "1",
            "(" * 250 + "rain_1h" + ")" * 250,
            " + ".join(["rain_1h"] * 3000),
            "rain_1h >= prep_1h\n  or x",
            "",
            "\x00",
        ]
    ),
    nasty_text,
)


@st.composite
def rule_documents(draw: st.DrawFn) -> object:
    """A built-in rule file with random expressions and random values at random places."""
    doc = copy.deepcopy(draw(st.sampled_from(RULE_DOCS)))
    for rule in doc["rules"]:
        for level in rule.get("levels", {}).values():
            if draw(st.booleans()):
                level["when"] = draw(expressions)
        if draw(st.integers(0, 3)) == 0:
            rule.setdefault("scope", {})["where"] = draw(expressions)
    for _ in range(draw(st.integers(0, 3))):
        rule = draw(st.sampled_from(doc["rules"]))
        key = draw(st.sampled_from(sorted(rule)))
        rule[key] = draw(st.one_of(nasty_json, st.dictionaries(st.text(max_size=4), nasty_json)))
    if draw(st.integers(0, 5)) == 0:
        doc["rules"].append(copy.deepcopy(doc["rules"][0]))  # the same id twice
    return doc


def _with_condition(text: str) -> dict:
    """The first built-in rule file with ``text`` as its first level's condition."""
    doc = copy.deepcopy(RULE_DOCS[0])
    next(iter(doc["rules"][0]["levels"].values()))["when"] = text
    return doc


@fuzz_settings(1.0)
@given(doc=rule_documents())
@example(doc=_with_condition("not " * 3000 + "rain_1h"))  # deeper than the compiler recursion
@example(doc=_with_condition("-" * 20000 + "1"))
@example(doc=_with_condition(" + ".join(["rain_1h"] * 3000)))
def test_generated_rules_with_random_expressions_compile_or_name_the_rule(
    tmp_path: Path, doc
) -> None:
    path = tmp_path / "site_rules.yaml"
    try:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError):
        return
    path.write_text(text, encoding="utf-8")
    load_rules_file(path)
