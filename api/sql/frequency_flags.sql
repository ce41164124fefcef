-- Village thresholds the frequency analysis flagged, one row per village, duration and
-- threshold (准备转移 prepare / 立即转移 immediate). %(source)s NULL = every source;
-- %(flag)s NULL = both flags; %(area)s: the caller's area prefix (NULL: everything).
SELECT f.source, f.village_code, v.name AS village_name, v.township_code,
       t.name AS township_name, f.duration_h, f.n_years, f.distribution, f.soil_state,
       k.threshold, k.mm, k.t_am, k.t_pds, k.years_exceeded, k.flag, f.computed_at
FROM village_rain_frequency f
JOIN village v ON v.code = f.village_code
LEFT JOIN admin_unit t ON t.code = v.township_code
CROSS JOIN LATERAL (VALUES
    ('prepare', f.prepare_mm, f.prepare_t_am, f.prepare_t_pds, f.prepare_years_exceeded,
     f.prepare_flag),
    ('immediate', f.immediate_mm, f.immediate_t_am, f.immediate_t_pds,
     f.immediate_years_exceeded, f.immediate_flag)
) AS k (threshold, mm, t_am, t_pds, years_exceeded, flag)
WHERE k.flag IS NOT NULL
  AND (%(source)s::text IS NULL OR f.source = %(source)s::text)
  AND (%(flag)s::text IS NULL OR k.flag = %(flag)s::text)
  AND (%(area)s::text IS NULL OR f.village_code LIKE %(area)s::text || '%%')
ORDER BY f.source, f.village_code, f.duration_h, k.threshold DESC;
