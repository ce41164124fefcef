-- Stored rainfall frequencies of one village (village_rain_frequency), every source, newest
-- run first; the router picks the source asked for or the newest.
SELECT source, duration_h, n_years, first_year, last_year, distribution, loc, scale, shape,
       lr_statistic, lr_pvalue, return_levels, ci_level, ci_method, soil_state,
       prepare_mm, prepare_t_am, prepare_t_pds, prepare_years_exceeded,
       immediate_mm, immediate_t_am, immediate_t_pds, immediate_years_exceeded,
       prepare_flag, immediate_flag, note, computed_at
FROM village_rain_frequency
WHERE village_code = %(code)s
ORDER BY computed_at DESC, source, duration_h;
