-- Spatial (and, where a collection has time, temporal) extent of every OGC collection, in one
-- round trip for /ogc/collections. Must select the same rows as the ogc_*.sql items queries.
WITH extent AS (
SELECT 'villages' AS id, ST_Extent(geom) AS box, NULL::timestamptz AS t0, NULL::timestamptz AS t1
FROM village
UNION ALL
SELECT 'townships', ST_Extent(geom), NULL, NULL FROM admin_unit WHERE level = 'township'
UNION ALL
SELECT 'stations', ST_Extent(geom), min(observed_at), max(observed_at)
FROM (
    -- a station's time is that of its latest reading (as in ogc_stations.sql)
    SELECT s.geom, greatest(
        (SELECT max(tm) FROM river_obs WHERE stcd = s.stcd),
        (SELECT max(tm) FROM reservoir_obs WHERE stcd = s.stcd),
        (SELECT max(tm) FROM rain_obs WHERE stcd = s.stcd)) AS observed_at
    FROM station s
) latest
UNION ALL
SELECT 'hazard-points', ST_Extent(geom), NULL, NULL FROM hazard_point
UNION ALL
SELECT 'shelters', ST_Extent(geom), NULL, NULL FROM shelter
UNION ALL
SELECT 'warehouses', ST_Extent(geom), NULL, NULL FROM warehouse
UNION ALL
SELECT 'rescue-teams', ST_Extent(geom), NULL, NULL FROM rescue_team
UNION ALL
SELECT 'broadcast-terminals', ST_Extent(geom), NULL, NULL FROM broadcast_terminal
UNION ALL
SELECT 'active-warnings',  -- the area as published (a draft's new area is not public yet)
       ST_Extent(CASE WHEN w.current_version = w.published_version THEN w.geom
                 ELSE (SELECT ST_Union(a.geom) FROM admin_unit a
                       WHERE a.level = 'village' AND a.code = ANY(v.village_codes)) END),
       min(v.effective), max(v.expires)
FROM warning w
JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
WHERE w.status = 'issued' AND w.expires_at > now()  -- in force, as ogc_active_warnings.sql
)
SELECT id, ST_XMin(box) AS xmin, ST_YMin(box) AS ymin, ST_XMax(box) AS xmax,
       ST_YMax(box) AS ymax, t0, t1
FROM extent;
