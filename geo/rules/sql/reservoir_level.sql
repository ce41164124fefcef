-- Per village, the reservoir concerning it that stands highest above its flood-limit level of
-- the day (the ST_RSVRFSR_B row whose MMDD range covers it; ranges may wrap the new year), with
-- the reservoir's name (the texts name it).
WITH latest AS (
    SELECT DISTINCT ON (o.stcd) o.stcd, o.rz
    FROM reservoir_obs o
    WHERE o.tm <= %(at)s AND o.tm > %(at)s - make_interval(secs => %(max_age_s)s)
      AND o.rz IS NOT NULL
    ORDER BY o.stcd, o.tm DESC
), lim AS (
    SELECT DISTINCT ON (f.stcd) f.stcd, f.fsltdz
    FROM reservoir_flood_limit f
    WHERE CASE WHEN f.bgmd <= f.edmd THEN %(mmdd)s BETWEEN f.bgmd AND f.edmd
               ELSE %(mmdd)s >= f.bgmd OR %(mmdd)s <= f.edmd END
    ORDER BY f.stcd, f.fstp
), scored AS (
    SELECT sv.village_code, l.stcd, l.rz, lim.fsltdz, r.design_flood_z, r.check_flood_z,
           l.rz - lim.fsltdz AS over, s.stnm
    FROM latest l
    JOIN reservoir r ON r.stcd = l.stcd
    LEFT JOIN station s ON s.stcd = l.stcd
    LEFT JOIN lim ON lim.stcd = l.stcd
    JOIN station_village sv ON sv.stcd = l.stcd AND sv.relation = ANY (%(relations)s)
)
SELECT DISTINCT ON (village_code) village_code, over, rz, fsltdz, design_flood_z, check_flood_z,
       stcd, stnm
FROM scored
ORDER BY village_code, over DESC NULLS LAST, rz - design_flood_z DESC
