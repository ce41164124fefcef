"""Rainfall frequency analysis per village (暴雨频率分析): extreme-value fits of the archive's
annual maxima (``village_rain_annual_max``), return levels with confidence intervals, and the
return periods of the village's flash-flood critical rainfall with flags for thresholds that
would warn more than once a year or hardly ever.

- :mod:`.fit`: one series → Gumbel or GEV (scipy.stats, maximum likelihood), return levels,
  Langbein's conversion; plain numbers in and out.
- :mod:`.batch`: every village of a source, stored in ``village_rain_frequency``.
"""

from riskmap.geo.frequency.batch import RunSummary, flag, judge_threshold, run_frequency
from riskmap.geo.frequency.fit import (
    RETURN_PERIODS,
    Fit,
    ReturnLevel,
    ThresholdPeriod,
    fit_maxima,
    frozen,
    langbein,
    return_level,
    threshold_period,
)

__all__ = [
    "RETURN_PERIODS",
    "Fit",
    "ReturnLevel",
    "RunSummary",
    "ThresholdPeriod",
    "fit_maxima",
    "flag",
    "frozen",
    "judge_threshold",
    "langbein",
    "return_level",
    "run_frequency",
    "threshold_period",
]
