-- Reservoirs of the area that reported a level during [%(d0)s, %(d1)s): the day's highest level
-- and when, against the 汛限水位 of the day (the ST_RSVRFSR_B row whose MMDD range covers the
-- Beijing date %(mmdd)s; ranges may wrap the new year) and the design flood level.
SELECT s.stcd, s.stnm, s.rvnm, m.rz AS max_rz, m.tm AS max_tm, lim.fsltdz,
       r.design_flood_z, m.rz >= lim.fsltdz AS above_flood_limit,
       m.rz >= r.design_flood_z AS above_design
FROM station s
JOIN reservoir r ON r.stcd = s.stcd
JOIN LATERAL (
    SELECT o.rz, o.tm FROM reservoir_obs o
    WHERE o.stcd = s.stcd AND o.rz IS NOT NULL AND o.tm >= %(d0)s AND o.tm < %(d1)s
    ORDER BY o.rz DESC, o.tm LIMIT 1
) m ON true
LEFT JOIN LATERAL (
    SELECT f.fsltdz FROM reservoir_flood_limit f
    WHERE f.stcd = s.stcd
      AND CASE WHEN f.bgmd <= f.edmd THEN %(mmdd)s BETWEEN f.bgmd AND f.edmd
               ELSE %(mmdd)s >= f.bgmd OR %(mmdd)s <= f.edmd END
    ORDER BY f.fstp LIMIT 1
) lim ON true
WHERE (%(area)s::text IS NULL OR s.addvcd LIKE %(area)s || '%%')
ORDER BY (m.rz - lim.fsltdz) DESC NULLS LAST, s.stcd;
