-- OGC items of `hazard-points` (地质灾害隐患点): kind, scale, the village and the people and
-- property it threatens, the evacuation card's signal and route. Persons (monitor, responsible)
-- are left out: their names and phones belong to the duty pages, not a map layer.
-- Parameters as in ogc_villages.sql.
WITH hit AS (
    SELECT h.id
    FROM hazard_point h
    WHERE (%(bbox)s::geometry IS NULL OR ST_Intersects(h.geom, %(bbox)s::geometry))
      AND (%(id)s::text IS NULL OR h.id = %(id)s::text)
      AND (%(area)s::text IS NULL OR h.village_code LIKE %(area)s || '%%')  -- caller's area
      AND (%(township_code)s::text IS NULL OR left(h.village_code, 9) = %(township_code)s::text)
      AND (%(village_code)s::text IS NULL OR h.village_code = %(village_code)s::text)
),
page AS (
    SELECT id FROM hit ORDER BY id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT (SELECT count(*) FROM hit) AS matched,
       coalesce(json_agg(json_build_object(
           'type', 'Feature',
           'id', h.id,
           'geometry', ST_AsGeoJSON(h.geom, 6)::json,
           'properties', json_build_object(
               'id', h.id,
               'name', h.name,
               'kind', h.kind,
               'scale', h.scale,
               'village_code', h.village_code,
               'village_name', v.name,
               'township_code', left(h.village_code, 9),
               'threatened_people', h.threatened_people,
               'threatened_households', h.threatened_households,
               'threatened_property_1e4cny', h.threatened_property,
               'warning_signal', h.warning_signal,
               'evacuation_route', h.evacuation_route,
               'slope_deg', h.slope_deg
           )
       ) ORDER BY h.id), '[]'::json)::text AS features
FROM page p
JOIN hazard_point h ON h.id = p.id
LEFT JOIN admin_unit v ON v.code = h.village_code;
