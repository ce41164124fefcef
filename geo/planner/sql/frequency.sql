-- Stored rainfall frequencies (village_rain_frequency) with the village's name, township and
-- outline. %(source)s NULL = every source; %(codes)s NULL = every village; %(flagged)s true =
-- only rows with a flag on either threshold.
SELECT f.source, f.village_code, v.name AS village_name, v.township_code,
       t.name AS township_name, f.duration_h, f.n_years, f.first_year, f.last_year,
       f.distribution, f.loc, f.scale, f.shape, f.lr_statistic, f.lr_pvalue, f.return_levels,
       f.ci_level, f.ci_method, f.soil_state,
       f.prepare_mm, f.prepare_t_am, f.prepare_t_pds, f.prepare_years_exceeded,
       f.immediate_mm, f.immediate_t_am, f.immediate_t_pds, f.immediate_years_exceeded,
       f.prepare_flag, f.immediate_flag, f.note, f.computed_at, ST_AsBinary(v.geom) AS wkb
FROM village_rain_frequency f
JOIN village v ON v.code = f.village_code
LEFT JOIN admin_unit t ON t.code = v.township_code
WHERE (%(source)s::text IS NULL OR f.source = %(source)s::text)
  AND (%(codes)s::text[] IS NULL OR f.village_code = ANY(%(codes)s::text[]))
  AND (NOT %(flagged)s OR f.prepare_flag IS NOT NULL OR f.immediate_flag IS NOT NULL)
ORDER BY f.source, f.village_code, f.duration_h;
