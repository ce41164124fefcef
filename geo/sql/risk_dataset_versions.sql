-- Versions of the datasets a risk map was computed from (villages, rivers, hazard points).
SELECT d.id, d.loaded_at
FROM dataset d
WHERE d.id IN (SELECT dataset_id FROM village WHERE %(county)s::text IS NULL OR county_code = %(county)s
               UNION SELECT dataset_id FROM river
               UNION SELECT dataset_id FROM hazard_point)
ORDER BY d.id;
