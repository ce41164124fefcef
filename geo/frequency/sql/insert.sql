INSERT INTO village_rain_frequency (
    source, village_code, duration_h, n_years, first_year, last_year, distribution, loc, scale,
    shape, lr_statistic, lr_pvalue, return_levels, ci_level, ci_method, soil_state,
    prepare_mm, prepare_t_am, prepare_t_pds, prepare_years_exceeded,
    immediate_mm, immediate_t_am, immediate_t_pds, immediate_years_exceeded,
    prepare_flag, immediate_flag, note)
VALUES (
    %(source)s, %(village_code)s, %(duration_h)s, %(n_years)s, %(first_year)s, %(last_year)s,
    %(distribution)s, %(loc)s, %(scale)s, %(shape)s, %(lr_statistic)s, %(lr_pvalue)s,
    %(return_levels)s, %(ci_level)s, %(ci_method)s, %(soil_state)s,
    %(prepare_mm)s, %(prepare_t_am)s, %(prepare_t_pds)s, %(prepare_years_exceeded)s,
    %(immediate_mm)s, %(immediate_t_am)s, %(immediate_t_pds)s, %(immediate_years_exceeded)s,
    %(prepare_flag)s, %(immediate_flag)s, %(note)s);
