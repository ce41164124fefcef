-- Warehouses nearest first (geodesic, as resources_nearest_shelter.sql), with their stock.
-- Filters: %(items)s (item codes, NULL = any) and %(item)s (one code, or part of the zh-CN
-- name, NULL = any); with either, only warehouses holding a matching item with quantity > 0
-- count and only those items are listed; with neither, every warehouse and its whole stock.
WITH area AS (SELECT ST_GeomFromWKB(%(area)s, 4326) AS g),
matched AS (
    SELECT s.* FROM stock s
    WHERE (%(items)s::text[] IS NULL OR s.item = ANY(%(items)s::text[]))
      AND (%(item)s::text IS NULL OR s.item = %(item)s::text
           OR strpos(s.item_name, %(item)s::text) > 0)
      AND (s.quantity > 0 OR (%(items)s::text[] IS NULL AND %(item)s::text IS NULL))
),
cand AS (
    SELECT w.*
    FROM warehouse w, area
    WHERE ((%(items)s::text[] IS NULL AND %(item)s::text IS NULL)
           OR EXISTS (SELECT 1 FROM matched m WHERE m.warehouse_id = w.id))
      AND (%(area_prefix)s::text IS NULL OR w.admin_code LIKE %(area_prefix)s || '%%')  -- an area of responsibility
    ORDER BY w.geom <-> area.g
    LIMIT %(pool)s
),
near AS (
    SELECT c.id, c.name, c.level, c.admin_code, c.address, c.manager_id, c.geom,
           ST_Distance(c.geom::geography, area.g::geography) AS distance_m
    FROM cand c CROSS JOIN area
    ORDER BY distance_m, c.id
    LIMIT %(k)s
)
SELECT n.id, n.name, n.level, n.admin_code, n.address, n.distance_m, m.name AS manager_name,
       m.phone AS manager_phone, ST_X(n.geom) AS lon, ST_Y(n.geom) AS lat,
       coalesce((SELECT jsonb_agg(jsonb_build_object('item', s.item, 'item_name', s.item_name,
                                                     'unit', s.unit, 'quantity', s.quantity)
                                  ORDER BY s.item)
                 FROM matched s WHERE s.warehouse_id = n.id), '[]'::jsonb) AS stock
FROM near n LEFT JOIN person m ON m.id = n.manager_id
ORDER BY n.distance_m, n.id;
