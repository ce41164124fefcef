-- Hazard points inside the affected area, with their monitor (群测群防员) to call.
SELECT h.id, h.name, h.kind, h.scale, h.village_code, h.threatened_people,
       h.threatened_households, m.name AS monitor_name, m.phone AS monitor_phone,
       ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
FROM hazard_point h LEFT JOIN person m ON m.id = h.monitor_id
WHERE ST_Covers(ST_GeomFromWKB(%(area)s, 4326), h.geom)
ORDER BY h.id;
