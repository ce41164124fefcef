-- Rain per village and period (the village_rain view: rows plus the grid arrays, migration
-- 0022) of one product. %(codes)s NULL = every village; periods inside [since, until].
SELECT r.village_code, r.product, r.valid_start, r.valid_end, r.issued_at,
       extract(epoch FROM r.valid_end - r.valid_start) / 3600.0 AS hours,
       r.mean_mm, r.max_mm, r.coverage, r.source_ref
FROM village_rain r
WHERE r.product = %(product)s
  AND (%(codes)s::text[] IS NULL OR r.village_code = ANY(%(codes)s::text[]))
  AND (%(since)s::timestamptz IS NULL OR r.valid_start >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR r.valid_end <= %(until)s::timestamptz)
ORDER BY r.village_code, r.valid_start, r.valid_end, r.issued_at;
