-- Stations with their latest stage (river) or level (reservoir) and the levels to compare it
-- with: 警戒水位 wrz, 保证水位 grz (ST_RVFCCH_B) and the 汛限水位 of the day of the latest reading
-- (ST_RSVRFSR_B row whose MMDD range covers it, Beijing date; ranges may wrap the new year).
SELECT s.stcd, s.stnm, s.sttp, s.rvnm, s.bsnm, s.addvcd,
       coalesce(rv.tm, rs.tm) AS latest_tm,
       coalesce(rv.z, rs.rz) AS latest_level,
       i.wrz AS warning_level, i.alarm_z AS alarm_level, i.grz AS guarantee_level,
       lim.fsltdz AS flood_limit_level, r.design_flood_z, r.check_flood_z,
       ST_AsBinary(s.geom) AS wkb
FROM station s
LEFT JOIN river_indicator i ON i.stcd = s.stcd
LEFT JOIN reservoir r ON r.stcd = s.stcd
LEFT JOIN LATERAL (
    SELECT o.tm, o.z FROM river_obs o WHERE o.stcd = s.stcd AND o.z IS NOT NULL
    ORDER BY o.tm DESC LIMIT 1
) rv ON true
LEFT JOIN LATERAL (
    SELECT o.tm, o.rz FROM reservoir_obs o WHERE o.stcd = s.stcd AND o.rz IS NOT NULL
    ORDER BY o.tm DESC LIMIT 1
) rs ON true
LEFT JOIN LATERAL (
    SELECT f.fsltdz FROM reservoir_flood_limit f,
           LATERAL (SELECT to_char(coalesce(rs.tm, now()) AT TIME ZONE 'Asia/Shanghai', 'MMDD')
                    AS mmdd) d
    WHERE f.stcd = s.stcd
      AND CASE WHEN f.bgmd <= f.edmd THEN d.mmdd BETWEEN f.bgmd AND f.edmd
               ELSE d.mmdd >= f.bgmd OR d.mmdd <= f.edmd END
    ORDER BY f.fstp LIMIT 1
) lim ON true
ORDER BY s.stcd;
