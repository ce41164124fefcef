-- Warehouses holding any of the hazard's relief items, nearest first, with those items.
WITH area AS (SELECT ST_GeomFromWKB(%(area)s, 4326) AS g),
cand AS (
    SELECT w.*
    FROM warehouse w, area
    WHERE EXISTS (SELECT 1 FROM stock s WHERE s.warehouse_id = w.id
                  AND s.item = ANY(%(items)s) AND s.quantity > 0)
    ORDER BY w.geom <-> area.g
    LIMIT %(pool)s
),
near AS (
    SELECT c.id, c.name, c.level, c.admin_code, c.manager_id, c.geom,
           ST_Distance(c.geom::geography, area.g::geography) / 1000.0 AS distance_km
    FROM cand c CROSS JOIN area
    ORDER BY distance_km, c.id
    LIMIT %(k)s
)
SELECT n.id, n.name, n.level, n.admin_code, n.distance_km, m.name AS manager_name,
       m.phone AS manager_phone, ST_X(n.geom) AS lon, ST_Y(n.geom) AS lat,
       (SELECT jsonb_agg(jsonb_build_object('item', s.item, 'item_name', s.item_name,
                                            'unit', s.unit, 'quantity', s.quantity)
                         ORDER BY s.item)
        FROM stock s
        WHERE s.warehouse_id = n.id AND s.item = ANY(%(items)s) AND s.quantity > 0) AS stock
FROM near n LEFT JOIN person m ON m.id = n.manager_id
ORDER BY n.distance_km, n.id;
