-- Relief-stock warehouses (应急物资仓库); their stock is in stock.sql.
SELECT w.id, w.name, w.level, w.admin_code, a.name AS admin_name, w.address, w.floor_m2,
       ST_AsBinary(w.geom) AS wkb
FROM warehouse w LEFT JOIN admin_unit a ON a.code = w.admin_code
ORDER BY w.id;
