"""The synthetic archive: reproducible by seed, seasonal, spatially correlated, heavy-tailed, and
readable as CF by the archive reader and xarray's own CF decoding."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import xarray as xr

from riskmap.geo.archive import synth

SPEC = synth.GridSpec(110.0, 27.0, 112.0, 29.0, 0.05)  # 40 × 40 cells


def month(year: int, m: int, seed: int = 3, spec: synth.GridSpec = SPEC) -> np.ndarray:
    start = datetime(year, m, 1, tzinfo=UTC)
    return np.concatenate([v for _, v in synth.month_fields(spec, seed, start)])


def test_same_seed_same_bytes_other_seed_other_values() -> None:
    a, b, c = month(2016, 1), month(2016, 1), month(2016, 1, seed=4)
    assert a.tobytes() == b.tobytes()
    assert a.shape == (31 * 24, 40, 40)
    assert not np.array_equal(a, c)


def test_wet_season_wetter_heavy_tail_and_spatial_correlation() -> None:
    jan, jun = month(2016, 1), month(2016, 6)
    assert jun.mean() > 2 * jan.mean()  # the wet season (Apr–Jul) against the dry winter
    wet = np.sort(jun[jun > 0])
    assert (jun > 0).mean() < 0.5  # intermittent: most hours dry
    top = wet[-max(1, wet.size // 100) :].sum() / wet.sum()
    assert top > 0.08  # the top 1 % of wet hours carry far more than 1 % of the rain
    assert wet[-1] > 20 * np.median(wet)  # skewed amounts
    series = jun.reshape(jun.shape[0], -1)

    def corr(dx: int) -> float:
        a = jun[:, 20, 5 : 35 - dx].ravel()
        b = jun[:, 20, 5 + dx : 35].ravel()
        return float(np.corrcoef(a, b)[0, 1])

    near, mid, far = corr(1), corr(6), corr(25)
    assert near > mid > far and near > 0.8 and far < 0.5
    assert series.shape[1] == 1600


def test_netcdf_month_is_cf(tmp_path) -> None:
    path = synth.write_netcdf_month(SPEC, 3, datetime(2016, 2, 1, tzinfo=UTC), tmp_path / "m.nc")
    with xr.open_dataset(path) as ds:  # xarray's CF decoding, not ours
        var = ds["precipitation_amount"]
        assert var.attrs["units"] == "mm" and var.attrs["cell_methods"] == "time: sum"
        assert ds.sizes["time"] == 29 * 24
        assert ds["time"].values[0] == np.datetime64("2016-02-01T01:00")
        assert ds["time_bnds"].values[0, 0] == np.datetime64("2016-02-01T00:00")
        assert float(ds["lat"][0]) == 28.975 and float(ds["lon"][0]) == 110.025
        np.testing.assert_array_equal(var.values, month(2016, 2))


def test_zarr_store_holds_the_same_values_as_netcdf(tmp_path) -> None:
    from riskmap.geo.archive.source import open_archive

    small = synth.GridSpec(110.0, 27.0, 110.5, 27.4, 0.1)
    synth.generate(small, 2016, 1, 5, tmp_path / "nc", months=2)
    synth.generate(small, 2016, 1, 5, tmp_path / "z", fmt="zarr", months=2)
    start, end = datetime(2016, 1, 1, tzinfo=UTC), datetime(2016, 3, 1, tzinfo=UTC)
    a = open_archive(tmp_path / "nc", start, end)
    b = open_archive(tmp_path / "z" / "rain.zarr", start, end)
    assert a.present == b.present == (31 + 29) * 24
    assert a.transform == b.transform and a.shape == b.shape == (4, 5)
    np.testing.assert_array_equal(a.data.compute(), b.data.compute())
    assert (
        a.data.compute().tobytes()
        == np.concatenate([month(2016, 1, 5, small), month(2016, 2, 5, small)])
        .astype(np.float64)
        .tobytes()
    )


def test_the_rain_does_not_depend_on_the_extent_asked_for() -> None:
    """A county-sized extent and a province-sized one around it get rain of the same climate:
    June's mean and share of wet hours agree within 40 % (the fields differ, the statistics
    must not; drawn on the county's own extent the county's mean was a fifth). The county's
    June is averaged over eight seeds: over 154 cells one month is one or two storms."""
    county = synth.snapped_spec(109.4, 27.5, 110.1, 28.05, 0.05)  # 14 × 11 cells (Mayang)
    wide = synth.snapped_spec(106.0, 24.5, 113.5, 31.0, 0.05)  # 150 × 130 cells
    means, wet = {}, {}
    for name, spec, seeds in (("county", county, range(1, 9)), ("wide", wide, (1, 2))):
        rain = np.concatenate([month(2020, 6, seed=s, spec=spec) for s in seeds])
        means[name] = rain.mean()
        wet[name] = (rain > 0).mean()
    assert 0.6 < means["county"] / means["wide"] < 1.67, means
    assert 0.6 < wet["county"] / wet["wide"] < 1.67, wet
