"""Extreme-value fits of one village's annual maxima (年最大值) with scipy.stats.

The rule for choosing the distribution, written for the short records of a county archive
(ten years is typical):

- fewer than ``min_years`` complete years: no fit (the answer says why);
- fewer than ``gev_min_years`` (30): Gumbel (EV1, 耿贝尔), by maximum likelihood — GEV's shape
  parameter is too unstable at n = 10 to be estimated from the record itself;
- from ``gev_min_years`` on: Gumbel and GEV both by maximum likelihood, and GEV only when the
  likelihood-ratio test rejects Gumbel (ξ = 0) at ``lr_alpha`` (deviance against χ²₁, Coles
  2001 §3.3.3).

Confidence intervals of the return levels come from a seeded parametric bootstrap: samples of
the record's length drawn from the fitted distribution, refitted by the same estimator, and the
equal-tailed percentiles of their return levels. The shape is reported as ξ (Coles' sign: ξ > 0
is the heavy, Fréchet tail), which is ``-c`` of ``scipy.stats.genextreme``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import stats

Distribution = Literal["gumbel", "gev"]
#: return periods reported for every fit (years, annual-maximum sense)
RETURN_PERIODS: tuple[int, ...] = (2, 5, 10, 20, 50, 100)
MIN_YEARS = 5
GEV_MIN_YEARS = 30
LR_ALPHA = 0.05
CI_LEVEL = 0.90
BOOTSTRAP_SAMPLES = 200


@dataclass(frozen=True)
class ReturnLevel:
    """The rainfall depth exceeded on average once in ``period`` years, with its interval."""

    period: int
    mm: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Fit:
    """A fitted distribution of annual maxima, or the reason there is none (``note``)."""

    n_years: int
    distribution: Distribution | None = None
    loc: float | None = None
    scale: float | None = None
    shape: float | None = None  # ξ (GEV only); None for Gumbel
    lr_statistic: float | None = None  # deviance 2(ℓ_GEV − ℓ_Gumbel), long records only
    lr_pvalue: float | None = None
    return_levels: list[ReturnLevel] = field(default_factory=list)
    ci_level: float = CI_LEVEL
    bootstrap_samples: int = 0
    note: str | None = None

    @property
    def fitted(self) -> bool:
        return self.distribution is not None

    def frozen(self):
        """The fitted scipy distribution (``rv_continuous_frozen``)."""
        if self.distribution is None:
            raise ValueError(f"no fit: {self.note}")
        return frozen(self.distribution, self.loc, self.scale, self.shape)


def frozen(distribution: Distribution, loc: float, scale: float, shape: float | None = None):
    """scipy's frozen distribution for stored parameters (ξ turned into scipy's ``c = -ξ``)."""
    if distribution == "gumbel":
        return stats.gumbel_r(loc=loc, scale=scale)
    if distribution == "gev":
        return stats.genextreme(-(shape or 0.0), loc=loc, scale=scale)
    raise ValueError(f"distribution must be 'gumbel' or 'gev', got {distribution!r}")


def return_level(
    distribution: Distribution,
    loc: float,
    scale: float,
    shape: float | None,
    period: float | Sequence[float] | np.ndarray,
) -> np.ndarray:
    """Depth exceeded with probability 1/T in a year: the (1 − 1/T) quantile of the fit."""
    t = np.asarray(period, dtype=float)
    if np.any(t <= 1):
        raise ValueError("an annual-maximum return period must exceed 1 year")
    return frozen(distribution, loc, scale, shape).isf(1.0 / t)


def langbein(t_am: float | np.ndarray) -> float | np.ndarray:
    """Partial-duration (peaks-over-threshold) return period from the annual-maximum one:
    T_pds = −1 / ln(1 − 1/T_am) (Langbein 1949). T_am = 2 → 1.443 years; T_am = 1.582 → 1.0."""
    t = np.asarray(t_am, dtype=float)
    with np.errstate(divide="ignore"):
        out = -1.0 / np.log1p(-1.0 / t)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class ThresholdPeriod:
    """How rare a rainfall depth is: annual-maximum and partial-duration return periods."""

    mm: float
    t_am: float  # 1 / P(annual maximum ≥ mm); ≥ 1 by construction
    t_pds: float  # mean years between exceedances (Poisson): < 1 means more than once a year


def threshold_period(fit: Fit, mm: float) -> ThresholdPeriod:
    """Return periods of a threshold under a fit. T_pds = −1/ln F(mm), which is Langbein's
    relation computed through ``logcdf`` so that thresholds far below the data keep precision."""
    dist = fit.frozen()
    sf = float(dist.sf(mm))
    t_am = math.inf if sf <= 0 else 1.0 / sf
    log_f = float(dist.logcdf(mm))
    t_pds = math.inf if log_f >= 0 else (0.0 if math.isinf(log_f) else -1.0 / log_f)
    return ThresholdPeriod(mm=mm, t_am=t_am, t_pds=t_pds)


def _mle(distribution: Distribution, x: np.ndarray) -> tuple[float, float, float | None]:
    if distribution == "gumbel":
        loc, scale = stats.gumbel_r.fit(x)
        return float(loc), float(scale), None
    c, loc, scale = stats.genextreme.fit(x)
    return float(loc), float(scale), float(-c)


def _loglik(distribution: Distribution, x: np.ndarray, params) -> float:
    return float(np.sum(frozen(distribution, *params).logpdf(x)))


def fit_maxima(
    maxima: Sequence[float] | np.ndarray,
    *,
    periods: Sequence[int] = RETURN_PERIODS,
    min_years: int = MIN_YEARS,
    gev_min_years: int = GEV_MIN_YEARS,
    lr_alpha: float = LR_ALPHA,
    ci_level: float = CI_LEVEL,
    bootstrap_samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> Fit:
    """Fit one series of annual maxima (mm, one value per complete year) by the rule above."""
    x = np.asarray(maxima, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError("annual maxima must be a 1-D series of finite depths ≥ 0 mm")
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level must lie between 0 and 1, got {ci_level}")
    n = len(x)
    if n < min_years:
        return Fit(n_years=n, note=f"fewer than {min_years} complete years ({n}): no fit")
    if np.ptp(x) == 0:
        return Fit(n_years=n, note=f"all {n} annual maxima are equal ({x[0]:g} mm): no fit")
    distribution: Distribution = "gumbel"
    params = _mle("gumbel", x)
    lr_stat = lr_p = None
    if n >= gev_min_years:
        gev = _mle("gev", x)
        lr_stat = max(0.0, 2 * (_loglik("gev", x, gev) - _loglik("gumbel", x, params)))
        lr_p = float(stats.chi2.sf(lr_stat, df=1))
        if lr_p < lr_alpha and np.isfinite(_loglik("gev", x, gev)):
            distribution, params = "gev", gev
    levels = _bootstrap_levels(distribution, params, n, periods, ci_level, bootstrap_samples, seed)
    return Fit(
        n_years=n,
        distribution=distribution,
        loc=params[0],
        scale=params[1],
        shape=params[2],
        lr_statistic=lr_stat,
        lr_pvalue=lr_p,
        return_levels=levels,
        ci_level=ci_level,
        bootstrap_samples=bootstrap_samples,
    )


def _bootstrap_levels(
    distribution: Distribution,
    params: tuple[float, float, float | None],
    n: int,
    periods: Sequence[int],
    ci_level: float,
    samples: int,
    seed: int,
) -> list[ReturnLevel]:
    """Point return levels and their parametric-bootstrap percentile interval."""
    t = np.asarray(periods, dtype=float)
    point = return_level(distribution, *params, t)
    if samples <= 0:
        pairs = zip(periods, point, strict=True)
        return [ReturnLevel(int(p), float(m), math.nan, math.nan) for p, m in pairs]
    rng = np.random.default_rng(seed)
    draws = frozen(distribution, *params).rvs(size=(samples, n), random_state=rng)
    if distribution == "gumbel":
        loc, scale = gumbel_mle_rows(draws)
        boot = stats.gumbel_r.isf(1.0 / t[None, :], loc=loc[:, None], scale=scale[:, None])
    else:
        boot = np.array([return_level(distribution, *_mle(distribution, d), t) for d in draws])
    tail = (1 - ci_level) / 2
    lower, upper = np.quantile(boot, [tail, 1 - tail], axis=0)
    return [
        ReturnLevel(int(p), float(m), float(lo), float(hi))
        for p, m, lo, hi in zip(periods, point, lower, upper, strict=True)
    ]


def gumbel_mle_rows(samples: np.ndarray, *, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Gumbel maximum-likelihood (loc, scale) of every row of ``samples`` at once.

    The same likelihood equations scipy's ``gumbel_r.fit`` solves one sample at a time
    (β = x̄ − Σx·e^(−x/β) / Σe^(−x/β), μ = −β ln(mean e^(−x/β))), by Newton's method on all rows
    together: the bootstrap refits hundreds of samples per village, which one scipy call each
    would make a county's batch take minutes. Tests check it against ``gumbel_r.fit``.
    """
    x = np.asarray(samples, dtype=float)
    x = x - x.min(axis=1, keepdims=True)  # e^(−x/β) ≤ 1: no overflow; loc shifted back below
    shift = np.asarray(samples, dtype=float).min(axis=1)
    mean = x.mean(axis=1)
    beta = np.sqrt(6) * x.std(axis=1, ddof=1) / np.pi  # method of moments to start
    beta = np.where(beta > 0, beta, 1.0)
    for _ in range(iterations):
        w = np.exp(-x / beta[:, None])
        s0, s1, s2 = w.sum(axis=1), (x * w).sum(axis=1), (x * x * w).sum(axis=1)
        m1 = s1 / s0
        h = mean - beta - m1
        dh = -1.0 - (s2 / s0 - m1 * m1) / beta**2
        step = h / dh
        new = np.maximum(beta - step, beta / 2)  # stay positive
        done = np.abs(new - beta) <= 1e-12 * np.maximum(beta, 1.0)
        beta = new
        if done.all():
            break
    loc = shift - beta * np.log(np.exp(-x / beta[:, None]).mean(axis=1))
    return loc, beta
