-- Versions of the datasets a risk map was computed from (villages, rivers, hazard points) of the
-- counties mapped: another county's reload does not change what these maps say they stand on.
WITH v AS (
    SELECT code, dataset_id, county_code FROM village
    WHERE %(counties)s::text[] IS NULL OR county_code = ANY (%(counties)s::text[])
)
SELECT d.id, d.loaded_at
FROM dataset d
WHERE d.id IN (SELECT dataset_id FROM v
               UNION SELECT r.dataset_id FROM river r
                     WHERE r.dataset_id IN (SELECT dataset_id FROM v)
                        OR NOT EXISTS (SELECT 1 FROM river o
                                       WHERE o.dataset_id IN (SELECT dataset_id FROM v))
               UNION SELECT h.dataset_id FROM hazard_point h
                     WHERE left(h.village_code, 6) IN (SELECT county_code FROM v))
ORDER BY d.id;
