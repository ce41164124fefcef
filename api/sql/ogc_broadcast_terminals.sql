-- OGC items of `broadcast-terminals` (村村响终端): village, protocol, speakers and status. The
-- delivery endpoint is left out (it is the dispatcher's business, not a map's).
-- Parameters as in ogc_villages.sql.
WITH hit AS (
    SELECT b.id
    FROM broadcast_terminal b
    WHERE (%(bbox)s::geometry IS NULL OR ST_Intersects(b.geom, %(bbox)s::geometry))
      AND (%(id)s::text IS NULL OR b.id = %(id)s::text)
      AND (%(area)s::text IS NULL OR b.village_code LIKE %(area)s || '%%')  -- caller's area
      AND (%(township_code)s::text IS NULL OR left(b.village_code, 9) = %(township_code)s::text)
      AND (%(village_code)s::text IS NULL OR b.village_code = %(village_code)s::text)
),
page AS (
    SELECT id FROM hit ORDER BY id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT (SELECT count(*) FROM hit) AS matched,
       coalesce(json_agg(json_build_object(
           'type', 'Feature',
           'id', b.id,
           'geometry', ST_AsGeoJSON(b.geom, 6)::json,
           'properties', json_build_object(
               'id', b.id,
               'name', b.name,
               'village_code', b.village_code,
               'village_name', v.name,
               'township_code', left(b.village_code, 9),
               'protocol', b.protocol,
               'speakers', b.speakers,
               'status', b.status
           )
       ) ORDER BY b.id), '[]'::json)::text AS features
FROM page p
JOIN broadcast_terminal b ON b.id = p.id
LEFT JOIN admin_unit v ON v.code = b.village_code;
