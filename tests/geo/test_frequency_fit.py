"""Extreme-value fits of annual maxima (geo/frequency/fit.py) against independent oracles:
textbook Gumbel reduced variates, samples drawn from known distributions, Langbein values
worked by hand, scipy's own Gumbel estimator and the L-moment estimator of lmoments3."""

from __future__ import annotations

import math

import lmoments3.distr as lm
import numpy as np
import pytest
from scipy import stats

from riskmap.geo.frequency import fit_maxima, flag, langbein, return_level, threshold_period
from riskmap.geo.frequency.fit import gumbel_mle_rows

# Gumbel reduced variate y_T = −ln(−ln(1 − 1/T)) to four decimals, as hydrology textbooks
# tabulate it (x_T = μ + β·y_T)
REDUCED_VARIATE = {2: 0.3665, 5: 1.4999, 10: 2.2504, 50: 3.9019, 100: 4.6001}


def test_gumbel_return_level_matches_the_textbook_reduced_variate() -> None:
    periods = sorted(REDUCED_VARIATE)
    got = return_level("gumbel", 50.0, 10.0, None, periods)
    expected = [50.0 + 10.0 * REDUCED_VARIATE[t] for t in periods]
    assert got == pytest.approx(expected, abs=2e-3)


def test_return_period_of_one_year_is_refused() -> None:
    with pytest.raises(ValueError, match="exceed 1 year"):
        return_level("gumbel", 50.0, 10.0, None, [1])


@pytest.mark.parametrize(
    ("t_am", "t_pds"),
    [(2.0, 1.0 / math.log(2)), (1.582, 1.0), (10.0, 9.4912), (100.0, 99.4992)],
)
def test_langbein_against_hand_values(t_am: float, t_pds: float) -> None:
    assert langbein(t_am) == pytest.approx(t_pds, abs=1e-3)


def test_threshold_period_of_the_100_year_depth() -> None:
    fit = fit_maxima(stats.gumbel_r(50, 10).rvs(40, random_state=3), bootstrap_samples=0)
    depth = fit.loc + fit.scale * REDUCED_VARIATE[100]
    p = threshold_period(fit, depth)
    assert p.t_am == pytest.approx(100.0, rel=1e-3)
    # Gumbel: −ln F(x) = e^(−(x−μ)/β), so T_pds = e^(y_T) = e^4.6001 = 99.50
    assert p.t_pds == pytest.approx(99.50, rel=1e-3)
    assert threshold_period(fit, fit.loc - 3 * fit.scale).t_pds < 0.06  # e^(−3) = 0.0498


def test_long_gumbel_sample_recovers_the_true_return_levels() -> None:
    true = stats.gumbel_r(loc=60.0, scale=15.0)
    fit = fit_maxima(true.rvs(3000, random_state=11), bootstrap_samples=50, seed=1)
    assert fit.distribution == "gumbel"  # the likelihood-ratio test does not reject ξ = 0
    assert fit.lr_pvalue is not None and fit.lr_pvalue > 0.05
    for level in fit.return_levels:
        assert level.mm == pytest.approx(true.isf(1 / level.period), rel=0.03)
        assert level.lower < level.mm < level.upper


def test_long_gev_sample_is_fitted_as_gev_with_its_shape() -> None:
    xi = 0.2  # heavy tail (Coles' sign); scipy's c = −ξ
    true = stats.genextreme(-xi, loc=60.0, scale=15.0)
    x = true.rvs(3000, random_state=5)
    fit = fit_maxima(x, bootstrap_samples=20, seed=1)
    assert fit.distribution == "gev" and fit.lr_pvalue < 0.05
    assert fit.shape == pytest.approx(xi, abs=0.04)
    for level in fit.return_levels:
        assert level.mm == pytest.approx(true.isf(1 / level.period), rel=0.06)
    # the peer: lmoments3's L-moment GEV fit of the same sample
    peer = lm.gev.lmom_fit(x)
    assert fit.shape == pytest.approx(-peer["c"], abs=0.05)
    assert fit.loc == pytest.approx(peer["loc"], rel=0.02)


def test_short_record_is_gumbel_even_when_drawn_from_gev() -> None:
    x = stats.genextreme(-0.3, loc=60, scale=15).rvs(12, random_state=2)
    fit = fit_maxima(x, bootstrap_samples=100)
    assert fit.distribution == "gumbel" and fit.shape is None and fit.lr_statistic is None
    assert fit.n_years == 12


def test_too_few_years_give_no_fit_and_say_why() -> None:
    fit = fit_maxima([40.0, 55.0, 61.0, 48.0])
    assert not fit.fitted and fit.return_levels == []
    assert "fewer than 5 complete years (4)" in fit.note
    with pytest.raises(ValueError, match="no fit"):
        fit.frozen()


def test_bad_maxima_are_refused() -> None:
    with pytest.raises(ValueError, match="finite depths"):
        fit_maxima([10.0, float("nan"), 30.0, 40.0, 50.0])


def test_ten_year_fit_agrees_with_lmoments3_within_its_interval() -> None:
    """At n = 10 the L-moment estimate (Hosking's choice for short records) differs from the
    likelihood one, but lies inside the 90 % bootstrap interval of every return level."""
    x = stats.gumbel_r(loc=70, scale=20).rvs(10, random_state=8)
    fit = fit_maxima(x, bootstrap_samples=400, seed=3)
    peer = lm.gum.lmom_fit(x)
    for level in fit.return_levels:
        lmom = stats.gumbel_r.isf(1 / level.period, loc=peer["loc"], scale=peer["scale"])
        assert level.lower < lmom < level.upper


def test_vectorised_bootstrap_estimator_equals_scipy() -> None:
    samples = stats.gumbel_r(loc=80, scale=25).rvs((40, 10), random_state=4)
    loc, scale = gumbel_mle_rows(samples)
    expected = np.array([stats.gumbel_r.fit(s) for s in samples])
    assert loc == pytest.approx(expected[:, 0], rel=1e-9)
    assert scale == pytest.approx(expected[:, 1], rel=1e-9)


def test_bootstrap_is_seeded() -> None:
    x = stats.gumbel_r(loc=70, scale=20).rvs(10, random_state=8)
    a, b = fit_maxima(x, seed=7), fit_maxima(x, seed=7)
    assert a.return_levels == b.return_levels
    assert fit_maxima(x, seed=8).return_levels != a.return_levels


@pytest.mark.parametrize(
    ("t_am", "t_pds", "expected"),
    [
        (1.2, 0.55, "over_warn"),
        (1.6, 1.02, None),
        (30.0, 29.5, None),
        (80.0, 79.5, "may_never_warn"),
    ],
)
def test_flags(t_am: float, t_pds: float, expected: str | None) -> None:
    assert flag(t_am, t_pds) == expected
