-- Grid-period rain values stored for villages about to leave the dataset (array slots of
-- village_rain_grid; their village_rain_row rows are counted with the other foreign keys).
SELECT m.code, count(*) AS n, array_agg(DISTINCT g.ingest_id) FILTER (WHERE g.ingest_id IS NOT NULL)
           AS ingest_ids
FROM village_set_member m
JOIN village_rain_grid g ON g.village_set = m.set_id
WHERE m.code = ANY(%(codes)s) AND g.mean_mm[m.pos] <> 'NaN'::float8
GROUP BY m.code;
