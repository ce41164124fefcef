-- Geohazard points (隐患点) in the village or within %(radius_m)s metres of it, nearest first
-- (geodesic; 0 inside the village).
WITH v AS (SELECT geom FROM village WHERE code = %(code)s)
SELECT h.id, h.name, h.kind, h.scale, h.village_code, h.threatened_people,
       h.threatened_households, h.warning_signal, h.evacuation_route,
       m.name AS monitor_name, m.phone AS monitor_phone,
       ST_Distance(h.geom::geography, v.geom::geography) AS distance_m,
       ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
FROM hazard_point h CROSS JOIN v
LEFT JOIN person m ON m.id = h.monitor_id
WHERE h.village_code = %(code)s OR ST_DWithin(h.geom::geography, v.geom::geography, %(radius_m)s)
ORDER BY distance_m, h.id;
