-- OGC items of `shelters` (避难场所): capacity, people sheltered now and free places.
-- Parameters as in ogc_villages.sql.
WITH hit AS (
    SELECT s.id
    FROM shelter s
    WHERE (%(bbox)s::geometry IS NULL OR ST_Intersects(s.geom, %(bbox)s::geometry))
      AND (%(id)s::text IS NULL OR s.id = %(id)s::text)
      AND (%(area)s::text IS NULL OR s.admin_code LIKE %(area)s || '%%')  -- caller's area
      AND (%(township_code)s::text IS NULL OR left(s.admin_code, 9) = %(township_code)s::text)
),
page AS (
    SELECT id FROM hit ORDER BY id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT (SELECT count(*) FROM hit) AS matched,
       coalesce(json_agg(json_build_object(
           'type', 'Feature',
           'id', s.id,
           'geometry', ST_AsGeoJSON(s.geom, 6)::json,
           'properties', json_build_object(
               'id', s.id,
               'name', s.name,
               'kind', s.kind,
               'admin_code', s.admin_code,
               'admin_name', a.name,
               'township_code', CASE WHEN length(s.admin_code) >= 9 THEN left(s.admin_code, 9) END,
               'capacity', s.capacity,
               'occupancy', s.occupancy,
               'free', s.capacity - s.occupancy,
               'area_m2', s.area_m2
           )
       ) ORDER BY s.id), '[]'::json)::text AS features
FROM page p
JOIN shelter s ON s.id = p.id
LEFT JOIN admin_unit a ON a.code = s.admin_code;
