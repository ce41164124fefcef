-- OGC items of `rescue-teams` (救援队伍): specialty, level, member count and equipment.
-- Parameters as in ogc_villages.sql.
WITH hit AS (
    SELECT t.id
    FROM rescue_team t
    WHERE (%(bbox)s::geometry IS NULL OR ST_Intersects(t.geom, %(bbox)s::geometry))
      AND (%(id)s::text IS NULL OR t.id = %(id)s::text)
      AND (%(area)s::text IS NULL OR t.admin_code LIKE %(area)s || '%%')  -- caller's area
      AND (%(township_code)s::text IS NULL OR (length(t.admin_code) >= 9
                                              AND left(t.admin_code, 9) = %(township_code)s::text))
),
page AS (
    SELECT id FROM hit ORDER BY id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT (SELECT count(*) FROM hit) AS matched,
       coalesce(json_agg(json_build_object(
           'type', 'Feature',
           'id', t.id,
           'geometry', ST_AsGeoJSON(t.geom, 6)::json,
           'properties', json_build_object(
               'id', t.id,
               'name', t.name,
               'specialty', t.specialty,
               'level', t.level,
               'admin_code', t.admin_code,
               'admin_name', a.name,
               'township_code', CASE WHEN length(t.admin_code) >= 9 THEN left(t.admin_code, 9) END,
               'members', (SELECT count(*) FROM team_member m WHERE m.team_id = t.id),
               'equipment', coalesce(eq.items, '[]'::json)
           )
       ) ORDER BY t.id), '[]'::json)::text AS features
FROM page p
JOIN rescue_team t ON t.id = p.id
LEFT JOIN admin_unit a ON a.code = t.admin_code
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object('item', item, 'item_name', item_name,
                                      'quantity', quantity) ORDER BY item) AS items
    FROM team_equipment WHERE team_id = t.id
) eq ON true;
