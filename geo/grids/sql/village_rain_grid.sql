-- One period's village values from a grid as one row: arrays in the village_set order, NaN
-- where a village has no value (see migration 0022). Only for a period key with no rain yet.
INSERT INTO village_rain_grid (product, valid_start, valid_end, issued_at, village_set, mean_mm,
                               max_mm, coverage, source_ref, ingest_id)
VALUES (%(product)s, %(valid_start)s, %(valid_end)s, %(issued_at)s, %(village_set)s, %(mean)b,
        %(max)b, %(coverage)b, %(source_ref)s, %(ingest_id)s);
