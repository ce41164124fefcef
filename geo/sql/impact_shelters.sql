-- The shelters an evacuation plan uses, with their manager to call.
SELECT s.id, s.name, s.kind, s.admin_code, s.capacity, s.occupancy,
       s.capacity - s.occupancy AS free, s.area_m2,
       m.name AS manager_name, m.phone AS manager_phone, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
FROM shelter s LEFT JOIN person m ON m.id = s.manager_id
WHERE s.id = ANY(%(ids)s)
ORDER BY s.id;
