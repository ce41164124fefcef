-- depends: 0046_village_rain_annual_max
-- Issue 19: rainfall frequency per village and duration (暴雨频率), fitted by
-- `riskmap frequency run --source LABEL` (geo/frequency) to the complete years of
-- village_rain_annual_max, with the return periods of the village's flash-flood critical
-- rainfall (山洪临界雨量: 准备转移 prepare, 立即转移 immediate). A run replaces its source's rows
-- in one transaction.

CREATE TABLE village_rain_frequency (
    source            text NOT NULL CHECK (source <> ''),
    village_code      text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    duration_h        smallint NOT NULL CHECK (duration_h IN (1, 3, 6, 12, 24)),
    n_years           integer NOT NULL CHECK (n_years >= 0),   -- complete years fitted
    first_year        smallint,
    last_year         smallint,
    distribution      text CHECK (distribution IN ('gumbel', 'gev')),  -- NULL: no fit (see note)
    loc               double precision,
    scale             double precision CHECK (scale > 0),
    shape             double precision,  -- GEV ξ (Coles' sign: ξ > 0 heavy tail); NULL for Gumbel
    lr_statistic      double precision,  -- deviance GEV against Gumbel (long records only)
    lr_pvalue         double precision,
    -- [{"period": 2, "mm": …, "lower": …, "upper": …}, …] for T = 2, 5, 10, 20, 50, 100 years
    return_levels     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(return_levels) = 'array'),
    ci_level          double precision NOT NULL CHECK (ci_level > 0 AND ci_level < 1),
    ci_method         text NOT NULL,     -- e.g. 'parametric bootstrap, 200 samples, seed 0'
    soil_state        text,              -- of the thresholds used: 'any', else 'normal'
    prepare_mm        double precision,  -- 准备转移
    prepare_t_am      double precision,  -- return period, annual-maximum sense (≥ 1 year)
    prepare_t_pds     double precision,  -- partial-duration sense (Langbein): < 1 = yearly+
    prepare_years_exceeded   integer,    -- complete years whose maximum reached it (archive)
    immediate_mm      double precision,  -- 立即转移
    immediate_t_am    double precision,
    immediate_t_pds   double precision,
    immediate_years_exceeded integer,
    prepare_flag      text CHECK (prepare_flag IN ('over_warn', 'may_never_warn')),
    immediate_flag    text CHECK (immediate_flag IN ('over_warn', 'may_never_warn')),
    note              text,              -- why there is no fit, in words
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, village_code, duration_h),
    CHECK ((distribution IS NULL) = (loc IS NULL)),
    CHECK (distribution IS NOT NULL OR note IS NOT NULL)
);

CREATE INDEX village_rain_frequency_village ON village_rain_frequency (village_code);
