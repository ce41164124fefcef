-- Shelters with at least %(min_free)s free places (free = capacity − occupancy), nearest first,
-- measured on the WGS 84 spheroid (geography) from the area or point (0 inside it). `<->`
-- (planar, index-assisted) picks %(pool)s candidates; the geography distance orders them. The
-- pool (≥ 50) absorbs the degree-vs-metre distortion at county scale.
WITH area AS (SELECT ST_GeomFromWKB(%(area)s, 4326) AS g),
cand AS (
    SELECT s.*, s.capacity - s.occupancy AS free
    FROM shelter s, area
    WHERE s.capacity - s.occupancy >= %(min_free)s
      AND (%(area_prefix)s::text IS NULL OR s.admin_code LIKE %(area_prefix)s || '%%')  -- an area of responsibility
    ORDER BY s.geom <-> area.g
    LIMIT %(pool)s
)
SELECT c.id, c.name, c.kind, c.admin_code, c.capacity, c.occupancy, c.free, c.area_m2,
       ST_Distance(c.geom::geography, area.g::geography) AS distance_m,
       m.name AS manager_name, m.phone AS manager_phone, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat
FROM cand c CROSS JOIN area LEFT JOIN person m ON m.id = c.manager_id
ORDER BY distance_m, c.id
LIMIT %(k)s;
