-- Villages with some part within %(radius_m)s metres of a point, each with its point nearest
-- to it (the bearing and distance are taken to that point).
SELECT v.code, v.name, ST_X(c.p) AS lon, ST_Y(c.p) AS lat
FROM admin_unit v
CROSS JOIN LATERAL (SELECT ST_ClosestPoint(v.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s),
                                                             4326)) AS p) c
WHERE v.level = 'village' AND v.geom IS NOT NULL
  AND ST_DWithin(v.geom::geography, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography,
                 %(radius_m)s)
ORDER BY v.code;
