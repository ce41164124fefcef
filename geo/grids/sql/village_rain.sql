-- One period's village values from a grid as village rows, for a period stored before (the first
-- grid of a period is one array row: village_rain_grid.sql). A later grid of the same
-- period replaces earlier values unless it covers the village less (a partial grid never
-- overwrites a complete one).
INSERT INTO village_rain_row AS r (village_code, product, valid_start, valid_end, issued_at,
                               mean_mm, max_mm, coverage, source_ref, ingest_id)
SELECT v.code, %(product)s, %(valid_start)s, %(valid_end)s, %(issued_at)s,
       v.mean_mm, v.max_mm, v.coverage, %(source_ref)s, %(ingest_id)s
FROM unnest(%(codes)s::text[], %(mean)s::float8[], %(max)s::float8[], %(coverage)s::float8[])
     AS v (code, mean_mm, max_mm, coverage)
ON CONFLICT (village_code, product, valid_start, valid_end, issued_at) DO UPDATE
SET mean_mm = EXCLUDED.mean_mm, max_mm = EXCLUDED.max_mm, coverage = EXCLUDED.coverage,
    source_ref = EXCLUDED.source_ref, ingest_id = EXCLUDED.ingest_id
WHERE EXCLUDED.coverage >= r.coverage;
