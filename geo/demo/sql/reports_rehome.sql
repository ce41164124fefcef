-- Field reports whose village leaves the dataset in this reload (driven by the reports: few):
-- each moves to the staged village containing its point (else the nearest one) and says where
-- it came from.
WITH target AS (
    SELECT r.id, r.village_code AS old_code,
           (SELECT s.code FROM _stage_admin_unit s
            WHERE s.level = 'village'
            ORDER BY NOT ST_Intersects(s.geom, r.geom), s.geom <-> r.geom, s.code
            LIMIT 1) AS new_code
    FROM field_report r
    JOIN admin_unit t ON t.code = r.village_code
    WHERE t.dataset_id = %(dataset_id)s
      AND NOT EXISTS (SELECT 1 FROM _stage_admin_unit s WHERE s.code = r.village_code)
)
UPDATE field_report r SET village_code = t.new_code
FROM target t
WHERE r.id = t.id AND t.new_code IS NOT NULL
RETURNING r.id, t.old_code, t.new_code;
