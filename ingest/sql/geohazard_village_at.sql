-- The village containing each point (n = the caller's index); points on a shared border get
-- the lowest code so the answer is stable.
SELECT DISTINCT ON (p.n) p.n, a.code
FROM unnest(%(n)s::int[], %(lon)s::float8[], %(lat)s::float8[]) AS p (n, lon, lat)
JOIN admin_unit a
  ON a.level = 'village' AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
ORDER BY p.n, a.code;
