-- OGC items of `villages` (村/社区): the village with its risk level per hazard (village_risk)
-- and the highest colour among the warnings in force that cover it, as published (an unpublished
-- draft's colour and villages are not the public's yet).
-- Parameters shared by every ogc_*.sql items query: bbox (EWKT or NULL), t0 / t1 (timestamptz or
-- NULL; ignored here: villages carry no time), id, township_code, village_code (text or NULL),
-- area (the caller's area prefix, api/areas.py; NULL = all), limit, offset. Returns one row: matched (count of all hits) and features (a JSON array as text).
WITH hit AS (
    SELECT v.code
    FROM village v
    WHERE (%(bbox)s::geometry IS NULL OR ST_Intersects(v.geom, %(bbox)s::geometry))
      AND (%(id)s::text IS NULL OR v.code = %(id)s::text)
      AND (%(area)s::text IS NULL OR v.code LIKE %(area)s || '%%')  -- caller's area
      AND (%(township_code)s::text IS NULL OR v.township_code = %(township_code)s::text)
),
page AS (
    SELECT code FROM hit ORDER BY code LIMIT %(limit)s OFFSET %(offset)s
)
SELECT (SELECT count(*) FROM hit) AS matched,
       coalesce(json_agg(json_build_object(
           'type', 'Feature',
           'id', v.code,
           'geometry', ST_AsGeoJSON(v.geom, 6)::json,
           'properties', json_build_object(
               'code', v.code,
               'name', v.name,
               'name_en', v.name_en,
               'kind', v.kind,
               'stat_code', v.stat_code,
               'urban_rural', v.urban_rural,
               'township_code', v.township_code,
               'township_name', t.name,
               'county_code', v.county_code,
               'population', v.population,
               'households', v.households,
               'schools', v.schools,
               'clinics', v.clinics,
               'area_km2', round(v.area_km2::numeric, 3),
               'risk_flash_flood', r.flash_flood,
               'risk_geohazard', r.geohazard,
               'risk_forest_fire', r.forest_fire,
               'warning_colour', w.colour,
               'warnings', w.n
           )
       ) ORDER BY v.code), '[]'::json)::text AS features
FROM page p
JOIN village v ON v.code = p.code
LEFT JOIN admin_unit t ON t.code = v.township_code
LEFT JOIN LATERAL (
    SELECT max(risk_level) FILTER (WHERE hazard = 'flash_flood') AS flash_flood,
           max(risk_level) FILTER (WHERE hazard = 'geohazard') AS geohazard,
           max(risk_level) FILTER (WHERE hazard = 'forest_fire') AS forest_fire
    FROM village_risk WHERE village_code = v.code
) r ON true
LEFT JOIN LATERAL (
    SELECT (ARRAY['blue', 'yellow', 'orange', 'red'])[max(array_position(
               ARRAY['blue', 'yellow', 'orange', 'red'], pv.colour))] AS colour,
           count(*) AS n
    FROM warning w
    JOIN warning_version pv ON pv.warning_id = w.id AND pv.version = w.published_version
    WHERE w.status = 'issued' AND w.expires_at > now()  -- in force: ends by the clock too
      AND pv.village_codes @> ARRAY[v.code]  -- as published, not a forecaster's draft
) w ON true;
