"""The offline basemap's back end over real HTTP and PostGIS: terrain tiles (Terrarium PNG)
checked against the DEM file read with rasterio and pyproj, the public rivers and counties
vector layers against PostGIS, and the rain time slider's periods against the grid catalogue."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mapbox_vector_tile
import morecantile
import numpy as np
import psycopg
import pytest
import rasterio
import shapely
from affine import Affine
from PIL import Image
from psycopg.rows import dict_row
from pyproj import Geod, Transformer
from shapely.geometry import shape

from riskmap.api.tiles import terrain, terrain_heights
from tests.api.test_tiles import MAYANG, _county_bounds

TMS = morecantile.tms.get("WebMercatorQuad")
TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)
# Terrarium stores 1/256 m steps (rounded: ±1/512 m); the pixel centres are projected on a
# lattice and interpolated (at zoom 11, 0.0002 px ≈ 1.5 cm off), which moves a height on a
# slope of at most ~1 m/m by under 2 cm
HEIGHT_TOL_M = 1 / 256 + 0.02


# -- helpers -----------------------------------------------------------------------------------


def _decode(body: bytes) -> np.ndarray:
    """Heights (m) of a Terrarium PNG, as MapLibre decodes it (R × 256 + G + B / 256 − 32768)."""
    img = Image.open(io.BytesIO(body))
    assert img.size == (256, 256)
    assert img.mode == "RGB" or img.getchannel("A").getextrema() == (255, 255)  # opaque
    rgb = np.asarray(img.convert("RGB")).astype(np.float64)
    return rgb[..., 0] * 256 + rgb[..., 1] + rgb[..., 2] / 256 - 32768


def _pixel_lonlat(t: morecantile.Tile) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of every pixel centre of tile ``t`` (pyproj, all 65,536)."""
    left, bottom, right, top = TMS.xy_bounds(t)
    centres = (np.arange(256) + 0.5) / 256
    x, y = np.meshgrid(left + centres * (right - left), top - centres * (top - bottom))
    lon, lat = TO_LONLAT.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


class DemFile:
    """The demo DEM as rasterio reads it, with heights computed here by hand."""

    def __init__(self, path: str) -> None:
        with rasterio.open(path) as src:
            self.heights = src.read(1).astype(np.float64)
            self.t: Affine = src.transform
            self.bounds = src.bounds
        self.path = path

    def fractional(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column in cell-centre units (0 = the first cell's centre)."""
        return (lat - self.t.f) / self.t.e - 0.5, (lon - self.t.c) / self.t.a - 0.5

    def bilinear(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Bilinear between the four nearest cell centres; beyond the outer centres the edge
        continues flat (coordinates clamped to them)."""
        rows, cols = self.heights.shape
        r, c = self.fractional(lon, lat)
        r, c = np.clip(r, 0, rows - 1), np.clip(c, 0, cols - 1)
        r0, c0 = (
            np.minimum(np.floor(r).astype(int), rows - 2),
            np.minimum(np.floor(c).astype(int), cols - 2),
        )
        fr, fc = r - r0, c - c0
        h = self.heights
        top = h[r0, c0] * (1 - fc) + h[r0, c0 + 1] * fc
        bottom = h[r0 + 1, c0] * (1 - fc) + h[r0 + 1, c0 + 1] * fc
        return top * (1 - fr) + bottom * fr


@pytest.fixture(scope="module")
def dem(service) -> DemFile:
    with psycopg.connect(service.db_url) as conn:
        (path,) = conn.execute(
            "SELECT path FROM raster_layer WHERE kind = 'dem' AND id = %s", [f"dem-{MAYANG}"]
        ).fetchone()
    return DemFile(path)


def _centre(service) -> tuple[float, float]:
    w, s, e, n = _county_bounds(service.db_url)
    return (w + e) / 2, (s + n) / 2


def _terrain(client, t: morecantile.Tile):
    r = client.get(f"/tiles/terrain/{t.z}/{t.x}/{t.y}.png")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    return r


# -- terrain -----------------------------------------------------------------------------------


@pytest.mark.parametrize("z", [11, 12, 14])
def test_terrain_tile_heights_are_the_dems(service, dem: DemFile, z: int) -> None:
    """Every pixel equals the bilinear height computed here from the DEM file (pyproj for the
    pixel centres); and a rasterio sample of the cell under each pixel centre differs by no
    more than the cell's 3 × 3 neighbourhood spans (the four centres bilinear interpolation
    uses are all in it)."""
    lon0, lat0 = _centre(service)
    t = TMS.tile(lon0, lat0, z)
    with service.client() as c:  # no token: terrain is public
        r = _terrain(c, t)
    got = _decode(r.content)
    lon, lat = _pixel_lonlat(t)
    rows, cols = dem.fractional(lon, lat)
    assert rows.min() > 1 and cols.min() > 1  # the whole tile is inside the DEM
    assert rows.max() < dem.heights.shape[0] - 2 and cols.max() < dem.heights.shape[1] - 2
    assert np.abs(got - dem.bilinear(lon, lat)).max() <= HEIGHT_TOL_M

    every = (slice(None, None, 16), slice(None, None, 16))  # 256 pixel centres
    lons, lats = lon[every].ravel(), lat[every].ravel()
    with rasterio.open(dem.path) as src:
        nearest = np.array([v[0] for v in src.sample(zip(lons, lats, strict=True))])
        cell_rows, cell_cols = rasterio.transform.rowcol(src.transform, lons, lats)
    spans = [
        np.abs(dem.heights[r - 1 : r + 2, c - 1 : c + 2] - dem.heights[r, c]).max()
        for r, c in zip(cell_rows, cell_cols, strict=True)
    ]
    assert np.all(np.abs(got[every].ravel() - nearest) <= np.array(spans) + 1 / 256)
    assert r.headers["cache-control"].startswith("public")


def test_terrain_continues_flat_beyond_the_dem(service, dem: DemFile) -> None:
    """A tile across the DEM's west edge and one far east of it: beyond the DEM each pixel is
    the height of the nearest edge (no 0 m fringe, no cliff), everything opaque."""
    _, lat0 = _centre(service)
    west, east = dem.bounds.left, dem.bounds.right
    edge = TMS.tile(west + 1e-6, lat0, 11)
    far = TMS.tile(east + 3.0, lat0, 11)  # no DEM meets it
    with service.client() as c:
        across, beyond = _decode(_terrain(c, edge).content), _decode(_terrain(c, far).content)
    lon, lat = _pixel_lonlat(edge)
    outside = lon < west
    assert 10_000 < outside.sum() < 60_000
    assert np.abs(across - dem.bilinear(lon, lat)).max() <= HEIGHT_TOL_M
    # each row is flat west of the edge: the edge cell's height at that latitude
    assert max(np.ptp(row[out]) for row, out in zip(across, outside, strict=True)) <= 1 / 128
    # no step at the edge larger than the DEM's own steps between neighbouring cells
    steps = np.abs(np.diff(across, axis=1)).max()
    assert steps <= np.abs(np.diff(dem.heights, axis=1)).max()
    lon, lat = _pixel_lonlat(far)
    assert np.abs(beyond - dem.bilinear(lon, lat)).max() <= HEIGHT_TOL_M
    assert np.ptp(beyond, axis=1).max() <= 1 / 128  # each row: the east edge's height
    assert beyond.min() > 100  # the demo relief is 150–1000 m: not 0, not −32768


def test_low_zoom_terrain_is_averaged_not_point_sampled(service, dem: DemFile) -> None:
    """At zoom 8 a pixel spans ~6 cells: each pixel's height lies within the heights of the
    cells around it (block means, then bilinear between neighbouring blocks), and is near the
    mean of the cells under the pixel."""
    lon0, lat0 = _centre(service)
    t = TMS.tile(lon0, lat0, 8)
    with service.client() as c:
        got = _decode(_terrain(c, t).content)
    lon, lat = _pixel_lonlat(t)
    rows, cols = dem.fractional(lon, lat)
    span = math.sqrt((cols[0, 1] - cols[0, 0]) * (rows[1, 0] - rows[0, 0]))  # cells per pixel
    assert 5 < span < 8
    reach = math.ceil(2 * span) + 1  # blocks of at most `span` cells, and their neighbours
    inside = np.argwhere(
        (rows > reach) & (rows < dem.heights.shape[0] - reach)
        & (cols > reach) & (cols < dem.heights.shape[1] - reach)
    )  # fmt: skip
    assert len(inside) > 1000
    for i, j in inside[:: len(inside) // 200]:
        r, c = round(rows[i, j]), round(cols[i, j])
        window = dem.heights[r - reach : r + reach + 1, c - reach : c + reach + 1]
        assert window.min() - 1e-3 <= got[i, j] <= window.max() + 1e-3
    # what a pixel should show is the mean of the cells under it: the averaged tile is much
    # nearer to it than the DEM sampled at the pixel centres (measured 1.9 m against 4.4 m)
    point = dem.bilinear(lon, lat)
    step_r, step_c = rows[1, 0] - rows[0, 0], cols[0, 1] - cols[0, 0]
    errors = []
    for i, j in inside[:: len(inside) // 200]:
        r, c = rows[i, j] + 0.5, cols[i, j] + 0.5  # from the DEM's outer edge
        under = dem.heights[
            round(r - step_r / 2) : round(r + step_r / 2),
            round(c - step_c / 2) : round(c + step_c / 2),
        ].mean()
        errors.append((abs(got[i, j] - under), abs(point[i, j] - under)))
    tile_error, point_error = np.mean(errors, axis=0)
    assert tile_error < 0.6 * point_error


def test_terrain_tilejson_and_layer_list(service, dem: DemFile) -> None:
    with service.client() as c:
        r = c.get("/tiles/terrain.json")
        listed = {x["id"]: x for x in c.get("/tiles").json()}
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    doc = r.json()
    assert doc["tilejson"] == "3.0.0" and doc["encoding"] == "terrarium"
    assert doc["tileSize"] == 256 and doc["minzoom"] == 0
    assert doc["tiles"] == [f"{service.base_url}/tiles/terrain/{{z}}/{{x}}/{{y}}.png"]
    b = dem.bounds
    assert doc["bounds"] == pytest.approx([b.left, b.bottom, b.right, b.top], abs=1e-6)
    # maxzoom: the first zoom whose pixel (at the DEM's latitude) is no larger than a cell
    lat = (b.bottom + b.top) / 2
    geod = Geod(ellps="WGS84")
    across = geod.inv(b.left, lat, b.left + dem.t.a, lat)[2]
    down = geod.inv(b.left, lat, b.left, lat - dem.t.a)[2]
    cell = math.sqrt(across * down)
    pixel = [40075016.686 * math.cos(math.radians(lat)) / 256 / 2**z for z in range(25)]
    assert pixel[doc["maxzoom"]] <= cell < pixel[doc["maxzoom"] - 1]
    assert doc["maxzoom"] == 11  # the demo's 3″ cells (~87 m); z11 pixels are ~68 m there
    entry = listed["terrain"]
    assert entry["public"] and entry["type"] == "raster-dem" and entry["encoding"] == "terrarium"
    assert entry["tilejson"] == f"{service.base_url}/tiles/terrain.json"


def test_terrain_etag_304_and_bad_tiles(service) -> None:
    lon0, lat0 = _centre(service)
    t = TMS.tile(lon0, lat0, 10)
    path = f"/tiles/terrain/10/{t.x}/{t.y}.png"
    with service.client() as c:
        first = c.get(path)
        again = c.get(path, headers={"If-None-Match": first.headers["etag"]})
        bad = c.get("/tiles/terrain/10/x/1.png")
        outside = c.get("/tiles/terrain/3/8/0.png")
    assert first.status_code == 200 and again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert bad.status_code == 400 and outside.status_code == 404


def _plane(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return 1000 + 200 * (lon - 109) - 300 * (lat - 25)


def _plane_grid(west: float, north: float, cols: int, rows: int, shift: float):
    """The transform and heights of a 0.01° grid of _plane + shift at the cell centres."""
    t = Affine(0.01, 0, west, 0, -0.01, north)
    lon = west + (np.arange(cols) + 0.5) * 0.01
    lat = north - (np.arange(rows) + 0.5) * 0.01
    values = _plane(*np.meshgrid(lon, lat)) + shift
    return t, values


def test_several_dems_newest_first_and_holes_filled_from_the_others(
    service, tmp_path: Path
) -> None:
    """Two overlapping DEMs of a plane (bilinear reproduces a plane exactly): where the newer
    one has data it is drawn (its heights are the plane + 50 m), in its nodata hole the older
    one's plane shows. Catalogued in a transaction that is rolled back."""
    a_t, a = _plane_grid(109.0, 25.5, 60, 50, 0.0)  # lon 109.0–109.6, lat 25.0–25.5
    b_t, b = _plane_grid(109.4, 25.5, 60, 50, 50.0)  # lon 109.4–110.0
    b[:25, :10] = np.nan  # a hole: lon 109.4–109.5, lat 25.25–25.5
    for name, t, values in (("a", a_t, a), ("b", b_t, b)):
        with rasterio.open(
            tmp_path / f"{name}.tif", "w", driver="GTiff", width=60, height=50, count=1,
            dtype="float32", crs="EPSG:4326", transform=t, nodata=-9999.0,
        ) as dst:  # fmt: skip
            dst.write(np.nan_to_num(values, nan=-9999.0).astype(np.float32), 1)
    t = TMS.tile(109.5, 25.25, 9)
    with psycopg.connect(service.db_url, row_factory=dict_row) as conn:
        for name, t_, age in (("a", a_t, "2 days"), ("b", b_t, "1 day")):
            conn.execute(
                "INSERT INTO dataset (id, title, synthetic, source, loaded_at)"
                " VALUES (%s, 'test DEM', true, 'tests', now() - %s::interval)",
                [f"test-dem-{name}", age],
            )
            conn.execute(
                "INSERT INTO raster_layer (id, kind, path, crs, width, height, transform, sha256,"
                " dataset_id, footprint) VALUES (%s, 'dem', %s, 'EPSG:4326', 60, 50, %s,"
                " repeat(%s, 64), %s, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
                [
                    f"test-dem-{name}", str(tmp_path / f"{name}.tif"), list(t_[:6]), name,
                    f"test-dem-{name}", t_.c, t_.f - 0.5, t_.c + 0.6, t_.f,
                ],
            )  # fmt: skip
        dems = terrain.find_dems(conn, t.z, t.x, t.y)
        conn.rollback()
    assert [d.id for d in dems] == ["test-dem-b", "test-dem-a"]  # newest dataset first
    got = terrain_heights.heights(dems, t.z, t.x, t.y)
    lon, lat = _pixel_lonlat(t)
    margin = 0.02  # two cells from any DEM or hole border
    in_b = (lon > 109.4 + margin) & (lon < 109.995) & (lat > 25.005) & (lat < 25.495)
    near_hole = (lon < 109.5 + margin) & (lat > 25.25 - margin)
    hole = (lon > 109.4 + margin) & (lon < 109.5 - margin) & (lat > 25.25 + margin)
    only_a = (lon > 109.005) & (lon < 109.4 - margin) & (lat > 25.005) & (lat < 25.495)
    b_data, a_data = in_b & ~near_hole, (hole & (lat < 25.495)) | only_a
    assert a_data.sum() > 5000 and (hole & a_data).sum() > 500 and b_data.sum() > 5000
    plane = _plane(lon, lat)
    assert np.abs(got - plane - 50)[b_data].max() < 1e-3
    assert np.abs(got - plane)[a_data].max() < 1e-3


def test_tile_lru_keeps_the_recent_within_its_bytes() -> None:
    lru = terrain.TileLRU(max_bytes=16 * 100)
    for i in range(20):
        lru.put(i, bytes(100))
        assert lru.get(0) is not None  # touched: stays
    assert len(lru) == 16 and lru.get(0) is not None and lru.get(1) is None
    lru.put("big", bytes(101))  # over a sixteenth of the budget: not kept
    assert lru.get("big") is None


# -- rivers and counties -----------------------------------------------------------------------


def _mvt(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def _near(db_url: str, sql: str, t: morecantile.Tile, grow: float) -> set:
    """Keys of the rows whose geometry meets the tile's envelope grown by ``grow`` tile units
    (negative: shrunk)."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            sql.format(
                "ST_Transform(ST_Expand(ST_TileEnvelope(%(z)s, %(x)s, %(y)s),"
                " %(grow)s * 40075016.686 / 2 ^ %(z)s / 4096), 4326)"
            ),
            {"z": t.z, "x": t.x, "y": t.y, "grow": grow},
        ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("z", [7, 10, 12])
def test_rivers_layer_matches_postgis(service, z: int) -> None:
    lon0, lat0 = _centre(service)
    t = TMS.tile(lon0, lat0, z)
    with service.client() as c:  # public: no token
        r = c.get(f"/tiles/rivers/{z}/{t.x}/{t.y}.mvt")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    features = _mvt(r.content)["rivers"]["features"]
    got = {f["properties"]["id"]: f for f in features}
    sql = "SELECT id FROM river WHERE ST_Intersects(geom, {})"
    inside, near = _near(service.db_url, sql, t, -2), _near(service.db_url, sql, t, 64)
    assert inside and inside <= set(got) <= near
    with psycopg.connect(service.db_url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT id, name, strahler, upstream_area_km2, ST_NPoints(geom) AS points"
            " FROM river WHERE id = ANY(%s)",
            [list(got)],
        ).fetchall()
    for row in rows:
        p = got[row["id"]]["properties"]
        assert p.get("name") == row["name"] and p["strahler"] == row["strahler"]
        assert p["upstream_area_km2"] == pytest.approx(row["upstream_area_km2"], abs=0.05)
        assert got[row["id"]]["geometry"]["type"] in ("LineString", "MultiLineString")
    if z == 7:  # simplified: fewer points than stored
        sent = sum(shapely.get_num_coordinates(shape(f["geometry"])) for f in features)
        assert sent < 0.8 * sum(row["points"] for row in rows)


@pytest.mark.parametrize("z", [6, 8, 11])
def test_counties_layer_matches_postgis(service, z: int) -> None:
    lon0, lat0 = _centre(service)
    t = TMS.tile(lon0, lat0, z)
    with service.client() as c:
        r = c.get(f"/tiles/counties/{z}/{t.x}/{t.y}.mvt")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    features = _mvt(r.content)["counties"]["features"]
    got = {f["properties"]["code"]: f for f in features}
    assert len(got) == len(features)
    sql = "SELECT code FROM admin_unit WHERE level IN ('county', 'city')"
    sql += " AND ST_Intersects(geom, {})"
    inside, near = _near(service.db_url, sql, t, -2), _near(service.db_url, sql, t, 64)
    assert {MAYANG, "431200"} <= inside <= set(got) <= near
    with psycopg.connect(service.db_url) as conn:
        names = dict(
            conn.execute(
                "SELECT code, name || '/' || level FROM admin_unit WHERE code = ANY(%s)",
                [list(got)],
            ).fetchall()
        )
    for code, f in got.items():
        assert f"{f['properties']['name']}/{f['properties']['level']}" == names[code]
        geom = shape(f["geometry"])
        assert geom.geom_type in ("Polygon", "MultiPolygon") and geom.is_valid


def test_basemap_layers_listed_public_with_tilejson(service) -> None:
    with service.client() as c:
        listed = {x["id"]: x for x in c.get("/tiles").json()}
        docs = {layer: c.get(f"/tiles/{layer}.json") for layer in ("rivers", "counties")}
    for layer, r in docs.items():
        assert listed[layer]["public"] and listed[layer]["type"] == "vector"
        assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
        (vl,) = r.json()["vector_layers"]
        assert vl["id"] == layer
    assert docs["rivers"].json()["minzoom"] == 6
    assert set(docs["counties"].json()["vector_layers"][0]["fields"]) == {"code", "name", "level"}


def test_county_tiles_follow_a_renamed_county(service) -> None:
    """The worker's cached counties tile is dropped when admin_unit changes ('outlines')."""
    from tests.dispatch.delivery_setup import wait_until

    lon0, lat0 = _centre(service)
    t = TMS.tile(lon0, lat0, 9)
    path = f"/tiles/counties/9/{t.x}/{t.y}.mvt"

    def name(c) -> str:
        features = _mvt(c.get(path).content)["counties"]["features"]
        return next(f["properties"]["name"] for f in features if f["properties"]["code"] == MAYANG)

    with psycopg.connect(service.db_url, autocommit=True) as conn, service.client() as c:
        before = name(c)
        try:
            conn.execute("UPDATE admin_unit SET name = name || '(测试)' WHERE code = %s", [MAYANG])
            # the commit's notification reaches the workers: the cached tile is dropped
            renamed = before + "(测试)"
            after = wait_until(lambda: name(c) == renamed and renamed, 30, "the new name")
        finally:
            conn.execute("UPDATE admin_unit SET name = %s WHERE code = %s", [before, MAYANG])
    assert after == before + "(测试)"


# -- rain periods ------------------------------------------------------------------------------


def _expected_periods(db_url: str, product: str) -> list[tuple]:
    """From grid_file, by hand: qpe in (latest end − 24 h, latest end], qpf the latest issue;
    per period end the latest issue, then the shortest period."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT valid_start, valid_end, issued_at, max_mm FROM grid_file WHERE product = %s",
            [product],
        ).fetchall()
    if not rows:
        return []
    if product == "qpe":
        latest = max(r[1] for r in rows)
        rows = [r for r in rows if latest - timedelta(hours=24) < r[1] <= latest]
    else:
        issue = max(r[2] for r in rows)
        rows = [r for r in rows if r[2] == issue]
    by_end: dict = {}
    for r in sorted(rows, key=lambda r: (-r[2].timestamp(), r[1] - r[0])):
        by_end.setdefault(r[1], r)
    return [by_end[end] for end in sorted(by_end)]


@pytest.mark.parametrize("product", ["qpe", "qpf"])
def test_rain_periods_match_the_catalogue(service, product: str) -> None:
    expected = _expected_periods(service.db_url, product)
    assert len(expected) >= (24 if product == "qpe" else 6)  # the storm's replay
    with service.client("viewer") as c:
        r = c.get("/tiles/rain/periods.json", params={"product": product})
        assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
        got = r.json()
        # the tiles and legend for period=valid_end draw exactly that grid
        legends = [
            c.get(
                "/tiles/rain/legend.json", params={"product": product, "period": p["valid_end"]}
            ).json()["grid"]
            for p in got
        ]
    assert [
        (p["valid_start"], p["valid_end"], p["issued_at"], p["hours"], p["max_mm"]) for p in got
    ] == [(_z(s), _z(e), _z(i), (e - s).total_seconds() / 3600, m) for s, e, i, m in expected]
    assert all(p["product"] == product and p["valid_end"].endswith("Z") for p in got)
    assert [(g["valid_start"], g["valid_end"], g["issued_at"]) for g in legends] == [
        (s.isoformat(), e.isoformat(), i.isoformat()) for s, e, i, _ in expected
    ]


def _z(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_rain_periods_need_a_token(service) -> None:
    with service.client() as c:
        anonymous = c.get("/tiles/rain/periods.json")
        wrong = c.get("/tiles/rain/periods.json", params={"token": "rm_wrong"})
        ok = c.get("/tiles/rain/periods.json", params={"token": service.tokens["viewer"]})
        bad = c.get(
            "/tiles/rain/periods.json",
            params={"product": "radar", "token": service.tokens["viewer"]},
        )
    assert anonymous.status_code == 401 and wrong.status_code == 401
    assert ok.status_code == 200 and len(ok.json()) >= 24
    assert bad.status_code == 422


def test_each_county_is_named_once_across_the_tiles(service) -> None:
    """County names come from one label point per unit (layer `county-labels` in the counties
    tiles): over every z7 tile of Huaihua each county appears once, counting each point in the
    tile that holds it (not in a neighbour's buffer), at its PostGIS name."""
    with psycopg.connect(service.db_url) as conn:
        expected = dict(
            conn.execute(
                "SELECT code, name FROM admin_unit WHERE level = 'county' AND code LIKE '4312%'"
            ).fetchall()
        )
        west, south, east, north = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e"
            " FROM admin_unit WHERE level = 'county' AND code LIKE '4312%') x"
        ).fetchone()
    assert len(expected) >= 10
    seen: dict[str, int] = {}
    with service.client() as c:
        for t in TMS.tiles(west, south, east, north, [7]):
            r = c.get(f"/tiles/counties/{t.z}/{t.x}/{t.y}.mvt")
            assert r.status_code == 200, r.text
            for f in _mvt(r.content).get("county-labels", {"features": []})["features"]:
                x, y = f["geometry"]["coordinates"]
                code = f["properties"]["code"]
                if code in expected and 0 <= x < 4096 and 0 <= y < 4096:
                    assert f["properties"]["name"] == expected[code]
                    seen[code] = seen.get(code, 0) + 1
    assert seen == {code: 1 for code in expected}
