-- Shelters (避难场所) with capacity, occupancy and free places.
SELECT s.id, s.name, s.kind, s.admin_code, a.name AS admin_name, s.capacity, s.occupancy,
       s.capacity - s.occupancy AS free, s.area_m2, ST_AsBinary(s.geom) AS wkb
FROM shelter s LEFT JOIN admin_unit a ON a.code = s.admin_code
ORDER BY s.id;
