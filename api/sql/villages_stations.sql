-- River gauges and reservoirs concerning the village (station_village), with their warning
-- (警戒), guarantee (保证) and, for reservoirs, the flood-limit (汛限) level of the season at
-- %(at)s (Beijing calendar date within bgmd…edmd).
SELECT s.stcd, s.stnm, s.sttp, s.rvnm, sv.relation, sv.distance_km,
       ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
       ri.wrz AS warning_z, ri.alarm_z, ri.grz AS guarantee_z, ri.obhtz AS record_z,
       r.scale, r.dead_z, r.normal_z, r.design_flood_z, r.check_flood_z, r.dam_crest_z,
       (SELECT fl.fsltdz FROM reservoir_flood_limit fl
        WHERE fl.stcd = s.stcd
          AND to_char(%(at)s::timestamptz AT TIME ZONE 'Asia/Shanghai', 'MMDD')
              BETWEEN fl.bgmd AND fl.edmd
        ORDER BY fl.bgmd LIMIT 1) AS flood_limit_z
FROM station_village sv
JOIN station s ON s.stcd = sv.stcd
LEFT JOIN river_indicator ri ON ri.stcd = s.stcd
LEFT JOIN reservoir r ON r.stcd = s.stcd
WHERE sv.village_code = %(code)s
  AND (ri.stcd IS NOT NULL OR r.stcd IS NOT NULL OR s.sttp IN ('ZZ', 'ZQ', 'RR', 'DD'))
ORDER BY sv.distance_km NULLS LAST, s.stcd;
