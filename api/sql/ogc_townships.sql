-- OGC items of `townships` (乡镇/街道): population, village count and the highest colour among
-- issued warnings covering any of their villages. Parameters as in ogc_villages.sql.
WITH hit AS (
    SELECT a.code
    FROM admin_unit a
    WHERE a.level = 'township'
      AND (%(bbox)s::geometry IS NULL OR ST_Intersects(a.geom, %(bbox)s::geometry))
      AND (%(id)s::text IS NULL OR a.code = %(id)s::text)
      AND (%(area)s::text IS NULL OR a.code LIKE %(area)s || '%%')  -- caller's area
),
page AS (
    SELECT code FROM hit ORDER BY code LIMIT %(limit)s OFFSET %(offset)s
)
SELECT (SELECT count(*) FROM hit) AS matched,
       coalesce(json_agg(json_build_object(
           'type', 'Feature',
           'id', a.code,
           'geometry', ST_AsGeoJSON(a.geom, 6)::json,
           'properties', json_build_object(
               'code', a.code,
               'name', a.name,
               'name_en', a.name_en,
               'kind', a.kind,
               'stat_code', a.stat_code,
               'county_code', a.gb2260,
               'population', a.population,
               'households', a.households,
               'area_km2', round(a.area_km2::numeric, 3),
               'villages', vs.n,
               'warning_colour', w.colour,
               'warnings', w.n
           )
       ) ORDER BY a.code), '[]'::json)::text AS features
FROM page p
JOIN admin_unit a ON a.code = p.code
LEFT JOIN LATERAL (
    SELECT array_agg(code) AS codes, count(*) AS n FROM village WHERE township_code = a.code
) vs ON true
LEFT JOIN LATERAL (
    SELECT (ARRAY['blue', 'yellow', 'orange', 'red'])[max(array_position(
               ARRAY['blue', 'yellow', 'orange', 'red'], pv.colour))] AS colour,
           count(*) AS n
    FROM warning w
    JOIN warning_version pv ON pv.warning_id = w.id AND pv.version = w.published_version
    WHERE w.status = 'issued' AND w.expires_at > now()  -- in force, as published
      AND pv.village_codes && vs.codes
) w ON true;
