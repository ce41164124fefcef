-- Dry run: the hypothetical rain as hourly observed analyses (qpe, full coverage, issued at their
-- end as observations are), the total spread evenly over the hours ending at %(at)s.
INSERT INTO village_rain_row (village_code, product, valid_start, valid_end, issued_at, mean_mm,
                              max_mm, coverage, source_ref)
SELECT v.code, 'qpe', %(at)s - make_interval(hours => k), %(at)s - make_interval(hours => k - 1),
       %(at)s - make_interval(hours => k - 1), v.mm / %(hours)s, v.mm / %(hours)s, 1.0,
       'planner.whatif'
FROM unnest(%(codes)s::text[], %(mm)s::float8[]) AS v (code, mm)
CROSS JOIN generate_series(1, %(hours)s::integer) AS k
