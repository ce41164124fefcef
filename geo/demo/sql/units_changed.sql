-- The dataset's units after the staged reload (_stage_admin_unit): added ones and those whose
-- outline changed (their village rain is recomputed), by level.
SELECT s.code, s.level, t.code IS NULL AS added
FROM _stage_admin_unit s
LEFT JOIN admin_unit t ON t.code = s.code
WHERE t.code IS NULL OR t.geom IS DISTINCT FROM s.geom;
