-- Per village, the river gauge concerning it that stands highest against its indicators (latest
-- stage within max_age before `at`): ratio (Z - WRZ) / (GRZ - WRZ), with the station's name and
-- river (the texts name the gauge).
WITH latest AS (
    SELECT DISTINCT ON (o.stcd) o.stcd, o.z
    FROM river_obs o
    WHERE o.tm <= %(at)s AND o.tm > %(at)s - make_interval(secs => %(max_age_s)s)
      AND o.z IS NOT NULL
    ORDER BY o.stcd, o.tm DESC
), scored AS (
    SELECT sv.village_code, l.stcd, l.z, i.wrz, i.alarm_z, i.grz,
           (l.z - i.wrz) / (i.grz - i.wrz) AS ratio, s.stnm, s.rvnm
    FROM latest l
    JOIN river_indicator i ON i.stcd = l.stcd
    LEFT JOIN station s ON s.stcd = l.stcd
    JOIN station_village sv ON sv.stcd = l.stcd AND sv.relation = ANY (%(relations)s)
)
SELECT DISTINCT ON (village_code) village_code, ratio, z, wrz, alarm_z, grz, stcd, stnm, rvnm
FROM scored
ORDER BY village_code, ratio DESC
