-- OGC items of `stations` (雨量站/水文站/水库站, SL 323 ST_STBPRP_B) with their latest reading:
-- river stage against 警戒/保证水位, reservoir level against the season's 汛限水位 and the
-- design flood level, rain over 1/3/6/24 h ending at the latest rain reading. The station's time
-- is that of its latest reading (stations without readings match any datetime).
-- Parameters as in ogc_villages.sql.
WITH hit AS (
    SELECT s.stcd, o.observed_at
    FROM station s
    CROSS JOIN LATERAL (
        SELECT greatest(
            (SELECT max(tm) FROM river_obs WHERE stcd = s.stcd),
            (SELECT max(tm) FROM reservoir_obs WHERE stcd = s.stcd),
            (SELECT max(tm) FROM rain_obs WHERE stcd = s.stcd)) AS observed_at
    ) o
    WHERE (%(bbox)s::geometry IS NULL OR ST_Intersects(s.geom, %(bbox)s::geometry))
      AND (%(id)s::text IS NULL OR s.stcd = %(id)s::text)
      AND (%(area)s::text IS NULL OR s.addvcd LIKE %(area)s || '%%')  -- caller's area
      AND (o.observed_at IS NULL OR %(t0)s::timestamptz IS NULL OR o.observed_at >= %(t0)s)
      AND (o.observed_at IS NULL OR %(t1)s::timestamptz IS NULL OR o.observed_at <= %(t1)s)
),
page AS (
    SELECT * FROM hit ORDER BY stcd LIMIT %(limit)s OFFSET %(offset)s
),
reading AS (
    SELECT p.stcd, p.observed_at,
           coalesce(rv.z, rs.rz) AS level_m,
           rv.q AS flow_m3s,
           rs.inq AS inflow_m3s,
           rs.otq AS outflow_m3s,
           rs.w AS storage_1e6m3,
           coalesce(rv.wptn, rs.rwptn) AS trend,
           ri.wrz, ri.grz, fl.fsltdz, res.design_flood_z, res.normal_z,
           rain.tm AS rain_at, rain.h1, rain.h3, rain.h6, rain.h24,
           rv.tm AS river_at, rs.tm AS reservoir_at
    FROM page p
    LEFT JOIN river_indicator ri ON ri.stcd = p.stcd
    LEFT JOIN reservoir res ON res.stcd = p.stcd
    LEFT JOIN LATERAL (
        SELECT tm, z, q, wptn FROM river_obs WHERE stcd = p.stcd ORDER BY tm DESC LIMIT 1
    ) rv ON true
    LEFT JOIN LATERAL (
        SELECT tm, rz, inq, otq, w, rwptn FROM reservoir_obs
        WHERE stcd = p.stcd ORDER BY tm DESC LIMIT 1
    ) rs ON true
    LEFT JOIN LATERAL (
        -- the flood-season row covering the reading's day (Beijing time, MMDD; may wrap the year)
        SELECT f.fsltdz FROM reservoir_flood_limit f
        WHERE f.stcd = p.stcd AND rs.tm IS NOT NULL
          AND CASE WHEN f.bgmd <= f.edmd
                   THEN to_char(rs.tm AT TIME ZONE 'Asia/Shanghai', 'MMDD') BETWEEN f.bgmd AND f.edmd
                   ELSE to_char(rs.tm AT TIME ZONE 'Asia/Shanghai', 'MMDD') >= f.bgmd
                     OR to_char(rs.tm AT TIME ZONE 'Asia/Shanghai', 'MMDD') <= f.edmd END
        ORDER BY f.bgmd LIMIT 1
    ) fl ON true
    LEFT JOIN LATERAL (
        SELECT last.tm,
               sum(o.drp) FILTER (WHERE o.tm > last.tm - interval '1 hour') AS h1,
               sum(o.drp) FILTER (WHERE o.tm > last.tm - interval '3 hours') AS h3,
               sum(o.drp) FILTER (WHERE o.tm > last.tm - interval '6 hours') AS h6,
               sum(o.drp) AS h24
        FROM (SELECT max(tm) AS tm FROM rain_obs WHERE stcd = p.stcd) last
        JOIN rain_obs o ON o.stcd = p.stcd AND o.tm > last.tm - interval '24 hours'
                       AND o.tm <= last.tm
        GROUP BY last.tm
    ) rain ON true
)
SELECT (SELECT count(*) FROM hit) AS matched,
       coalesce(json_agg(json_build_object(
           'type', 'Feature',
           'id', s.stcd,
           'geometry', ST_AsGeoJSON(s.geom, 6)::json,
           'properties', json_build_object(
               'stcd', s.stcd,
               'name', s.stnm,
               'sttp', s.sttp,
               'river', s.rvnm,
               'water_system', s.hnnm,
               'basin', s.bsnm,
               'location', s.stlc,
               'addvcd', s.addvcd,
               'elevation_m', s.elevation_m,
               'observed_at', r.observed_at,
               'level_at', coalesce(r.river_at, r.reservoir_at),
               'level_m', r.level_m,
               'flow_m3s', r.flow_m3s,
               'inflow_m3s', r.inflow_m3s,
               'outflow_m3s', r.outflow_m3s,
               'storage_1e6m3', r.storage_1e6m3,
               'trend', CASE r.trend WHEN 4 THEN 'falling' WHEN 5 THEN 'rising'
                                     WHEN 6 THEN 'steady' END,
               'warning_level_m', r.wrz,
               'guarantee_level_m', r.grz,
               'flood_limit_level_m', r.fsltdz,
               'normal_level_m', r.normal_z,
               'design_flood_level_m', r.design_flood_z,
               'above_warning_m', round((r.level_m - r.wrz)::numeric, 2),
               'above_flood_limit_m', round((r.level_m - r.fsltdz)::numeric, 2),
               'level_status', CASE
                   WHEN r.level_m IS NULL THEN NULL
                   WHEN r.level_m >= r.grz THEN 'above_guarantee'
                   WHEN r.level_m >= r.wrz THEN 'above_warning'
                   WHEN r.level_m >= r.design_flood_z THEN 'above_design_flood'
                   WHEN r.level_m >= r.fsltdz THEN 'above_flood_limit'
                   ELSE 'normal' END,
               'level_status_zh', CASE
                   WHEN r.level_m IS NULL THEN NULL
                   WHEN r.level_m >= r.grz THEN '超保证'
                   WHEN r.level_m >= r.wrz THEN '超警戒'
                   WHEN r.level_m >= r.design_flood_z THEN '超设计洪水位'
                   WHEN r.level_m >= r.fsltdz THEN '超汛限'
                   ELSE '正常' END,
               'rain_at', r.rain_at,
               'rain_1h_mm', r.h1,
               'rain_3h_mm', r.h3,
               'rain_6h_mm', r.h6,
               'rain_24h_mm', r.h24
           )
       ) ORDER BY s.stcd), '[]'::json)::text AS features
FROM reading r
JOIN station s ON s.stcd = r.stcd;
