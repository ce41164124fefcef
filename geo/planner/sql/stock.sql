-- Stock of every warehouse, one row per warehouse and item.
SELECT s.warehouse_id, s.item, s.item_name, s.unit, s.quantity::float8 AS quantity, s.updated_at
FROM stock s
ORDER BY s.warehouse_id, s.item;
