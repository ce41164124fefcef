-- River gauges of the area (station.addvcd) that reported a stage during [%(d0)s, %(d1)s): the
-- day's highest stage and when, against 警戒水位 (wrz) and 保证水位 (grz).
SELECT s.stcd, s.stnm, s.rvnm, m.z AS max_z, m.tm AS max_tm, i.wrz, i.grz,
       m.z >= i.wrz AS above_warning, m.z >= i.grz AS above_guarantee
FROM station s
JOIN river_indicator i ON i.stcd = s.stcd
JOIN LATERAL (
    SELECT o.z, o.tm FROM river_obs o
    WHERE o.stcd = s.stcd AND o.z IS NOT NULL AND o.tm >= %(d0)s AND o.tm < %(d1)s
    ORDER BY o.z DESC, o.tm LIMIT 1
) m ON true
WHERE (%(area)s::text IS NULL OR s.addvcd LIKE %(area)s || '%%')
ORDER BY (m.z - i.wrz) DESC, s.stcd;
