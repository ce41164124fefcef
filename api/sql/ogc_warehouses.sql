-- OGC items of `warehouses` (救灾物资储备库/点, county, township and village levels) with their
-- stock as a nested list. Parameters as in ogc_villages.sql.
WITH hit AS (
    SELECT w.id
    FROM warehouse w
    WHERE (%(bbox)s::geometry IS NULL OR ST_Intersects(w.geom, %(bbox)s::geometry))
      AND (%(id)s::text IS NULL OR w.id = %(id)s::text)
      AND (%(area)s::text IS NULL OR w.admin_code LIKE %(area)s || '%%')  -- caller's area
      AND (%(township_code)s::text IS NULL OR (length(w.admin_code) >= 9
                                              AND left(w.admin_code, 9) = %(township_code)s::text))
),
page AS (
    SELECT id FROM hit ORDER BY id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT (SELECT count(*) FROM hit) AS matched,
       coalesce(json_agg(json_build_object(
           'type', 'Feature',
           'id', w.id,
           'geometry', ST_AsGeoJSON(w.geom, 6)::json,
           'properties', json_build_object(
               'id', w.id,
               'name', w.name,
               'level', w.level,
               'admin_code', w.admin_code,
               'admin_name', a.name,
               'township_code', CASE WHEN length(w.admin_code) >= 9 THEN left(w.admin_code, 9) END,
               'address', w.address,
               'floor_m2', w.floor_m2,
               'stock_items', coalesce(st.n, 0),
               'stock', coalesce(st.items, '[]'::json)
           )
       ) ORDER BY w.id), '[]'::json)::text AS features
FROM page p
JOIN warehouse w ON w.id = p.id
LEFT JOIN admin_unit a ON a.code = w.admin_code
LEFT JOIN LATERAL (
    SELECT count(*) AS n,
           json_agg(json_build_object('item', item, 'item_name', item_name, 'unit', unit,
                                      'quantity', quantity, 'updated_at', updated_at)
                    ORDER BY item) AS items
    FROM stock WHERE warehouse_id = w.id
) st ON true;
