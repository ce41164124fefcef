"""Village risk maps: the classification pieces on hand-made inputs, and the whole build on the
Mayang demo (run twice in a rolled-back transaction: same inputs, same rows)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from exactextract import exact_extract
from scipy import sparse

from riskmap.geo import risk
from riskmap.geo.risk_terrain import synthetic_forest, terrain_layers
from riskmap.geo.terrain.dem import Dem, read_geotiff

# -- pieces -----------------------------------------------------------------------------------


def test_classify_counts_breaks_in_both_directions() -> None:
    up = risk.classify(np.array([0.0, 4.0, 4.1, 10.0, 11.0, np.nan]), (4.0, 7.0, 10.0), True)
    assert up.tolist() == [1, 1, 2, 3, 4, 0]
    down = risk.classify(np.array([0.1, 0.5, 2.9, 10.0, 50.0]), (0.5, 3.0, 10.0), False)
    assert down.tolist() == [4, 4, 3, 2, 1]


def test_susceptibility_is_the_weighted_mean_rounded_half_up() -> None:
    ind = {
        "forest_fraction": np.array([0.9, 0.9, 0.1, np.nan]),  # classes 4, 4, 1, unknown
        "slope_mean": np.array([0.0, 11.0, 11.0, 11.0]),  # classes 1, 4, 4, 4
    }
    # forest weighs 2, slope 1: (8+1)/3 = 3, (8+4)/3 = 4, (2+4)/3 = 2, 4 alone
    assert risk.susceptibility("forest_fire", ind).tolist() == [3, 4, 2, 4]
    with pytest.raises(ValueError, match="flash_flood, geohazard, forest_fire"):
        risk.susceptibility("tsunami", ind)  # type: ignore[arg-type]


def test_exposure_and_matrix() -> None:
    pop = np.array([0, 1000, 1001, 2500, 3001, 800])
    expo = risk.exposure(pop, [0, 0, 0, 1, 0, 1], [0, 0, 0, 1, 0, 1])
    assert expo.tolist() == [1, 1, 2, 4, 4, 2]
    assert risk.risk_level(np.array([1, 4, 3, 2]), np.array([1, 4, 2, 4])).tolist() == [1, 4, 2, 3]
    assert (np.diff(risk.RISK_MATRIX, axis=0) >= 0).all()  # never falls as either class rises
    assert (np.diff(risk.RISK_MATRIX, axis=1) >= 0).all()
    with pytest.raises(ValueError):
        risk.risk_level(np.array([0]), np.array([1]))


def test_weighted_quantile_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    values = rng.gamma(2.0, 3.0, 40)
    values[[3, 17]] = np.nan
    dense = np.zeros((5, 40))
    for i in range(4):  # zone 4 stays empty
        cells = rng.choice(40, 9, replace=False)
        dense[i, cells] = rng.uniform(0.1, 1.0, 9)
    got = risk.weighted_quantile(sparse.csr_matrix(dense), values, 0.1)
    for i in range(4):
        ok = (dense[i] > 0) & ~np.isnan(values)
        v, w = values[ok], dense[i, ok]
        order = np.argsort(v)
        cum = np.cumsum(w[order])
        assert got[i] == v[order][np.searchsorted(cum, 0.1 * w.sum())]
    assert np.isnan(got[4])


def test_synthetic_forest_leaves_valley_floors_and_flats_bare() -> None:
    # A V-shaped valley draining south: steep flanks, a flat strip along the thalweg.
    cols = np.abs(np.arange(41) - 20)
    z = 200.0 + 12.0 * cols[None, :] + 2.0 * (40 - np.arange(41))[:, None]
    dem = Dem(z.astype(np.float32), Affine(1 / 1200, 0, 110.0, 0, -1 / 1200, 28.0))
    layers = terrain_layers(dem)
    forest = synthetic_forest(layers)
    assert forest.shape == z.shape
    assert np.nanmax(forest) <= 1.0 and np.nanmin(forest) >= 0.0
    assert forest[:, 20].max() == 0.0  # the stream's own cells
    assert forest[5:35, [2, 38]].min() == 1.0  # steep, high flanks
    flat = Dem(np.full((20, 20), 300.0, np.float32), dem.transform)
    assert synthetic_forest(terrain_layers(flat)).max() == 0.0
    with pytest.raises(ValueError, match="geographic"):
        terrain_layers(Dem(z.astype(np.float32), Affine(90, 0, 5e5, 0, -90, 3e6), "EPSG:32649"))


_MEAN = "mean(coverage_weight=area_spherical_m2)"  # lon/lat cells weighted by true area

# -- the demo county --------------------------------------------------------------------------


def _rows(conn) -> list[tuple]:
    cols = ", ".join(c for c in risk._COLUMNS)
    return conn.execute(f"SELECT {cols} FROM village_risk ORDER BY village_code, hazard").fetchall()


def test_build_risk_on_mayang_is_reproducible_and_consistent(mayang, conn) -> None:
    # other suites may load more demo counties into the session database: pick Mayang's own
    dem_path = risk.catalogued_dem(conn, "431226")
    assert dem_path.is_file() and dem_path == Path(mayang.tables["raster_layer"].path.iloc[0])
    first = risk.build_risk(conn, dem_path, county="431226")
    rows1 = _rows(conn)
    second = risk.build_risk(conn, dem_path, county="431226")
    rows2 = _rows(conn)
    assert rows1 == rows2  # same inputs, same rows (computed_at excluded)
    assert first.levels == second.levels

    n = conn.execute("SELECT count(*) FROM village WHERE county_code = '431226'").fetchone()[0]
    assert n == 222 and first.villages == n and first.rows == 3 * n and not first.skipped

    # risk level follows the matrix; exposure figures are the village's
    bad = conn.execute(
        """SELECT count(*) FROM village_risk r JOIN village v ON v.code = r.village_code
           WHERE r.population <> v.population OR r.households <> v.households
              OR r.schools <> v.schools OR r.clinics <> v.clinics"""
    ).fetchone()[0]
    assert bad == 0
    for s, e, lv in conn.execute(
        "SELECT susceptibility_class, exposure_class, risk_level FROM village_risk"
    ):
        assert lv == risk.RISK_MATRIX[s - 1, e - 1]
    # every class is used somewhere for floods: the map discriminates
    classes = {
        r[0]
        for r in conn.execute(
            "SELECT susceptibility_class FROM village_risk WHERE hazard = 'flash_flood'"
        )
    }
    assert classes == {1, 2, 3, 4}

    # the synthetic forest is written, catalogued and recorded with its checksum
    assert first.forest_synthetic and first.forest_path.is_file()
    kind, sha = conn.execute(
        "SELECT kind, sha256 FROM raster_layer WHERE path = %s", (str(first.forest_path),)
    ).fetchone()
    assert kind == "forest"
    assert sha == hashlib.sha256(first.forest_path.read_bytes()).hexdigest()
    assert (
        conn.execute(
            "SELECT synthetic FROM dataset WHERE id = %s", (risk.FOREST_DATASET,)
        ).fetchone()[0]
        is True
    )
    inputs = conn.execute("SELECT inputs FROM village_risk LIMIT 1").fetchone()[0]
    assert inputs["forest"]["sha256"] == sha and inputs["forest"]["synthetic"] is True
    assert inputs["dem"]["sha256"] == hashlib.sha256(dem_path.read_bytes()).hexdigest()


def test_slope_and_forest_means_agree_with_exactextract(mayang, conn) -> None:
    """Independent check of the area-weighted village means on a few villages."""
    dem_path = risk.catalogued_dem(conn, "431226")
    result = risk.build_risk(conn, dem_path, county="431226")
    picks = conn.execute(
        """SELECT r.village_code, ST_AsBinary(v.geom), r.slope_mean, r.forest_fraction
           FROM village_risk r JOIN village v ON v.code = r.village_code
           WHERE r.hazard = 'forest_fire' AND v.county_code = '431226'
           ORDER BY r.village_code LIMIT 12"""
    ).fetchall()
    frame = gpd.GeoDataFrame(
        {"code": [p[0] for p in picks]},
        geometry=[shapely.from_wkb(bytes(p[1])) for p in picks],
        crs="EPSG:4326",
    )
    dem = read_geotiff(dem_path)
    slope = terrain_layers(dem).slope_deg
    tmp = Path(result.forest_path).with_name("slope-check.tif")
    with rasterio.open(
        tmp,
        "w",
        driver="GTiff",
        height=dem.shape[0],
        width=dem.shape[1],
        count=1,
        dtype="float64",
        crs=dem.crs,
        transform=dem.transform,
        nodata=np.nan,
    ) as dst:
        dst.write(slope, 1)
    ee_slope = exact_extract(str(tmp), frame, _MEAN, output="pandas")["mean"].to_numpy()
    ee_forest = exact_extract(str(result.forest_path), frame, _MEAN, output="pandas")["mean"]
    tmp.unlink()
    np.testing.assert_allclose([p[2] for p in picks], ee_slope, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose([p[3] for p in picks], ee_forest.to_numpy(), rtol=1e-5, atol=1e-6)


def test_build_risk_rejects_a_bad_county(conn) -> None:
    with pytest.raises(ValueError, match="six-digit"):
        risk.build_risk(conn, "/nonexistent.tif", county="4312")
