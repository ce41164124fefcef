-- The county (GB/T 2260) each MICAPS station point lies in, for the points inside this
-- installation's counties; points outside every county are not returned.
SELECT p.i::int AS i, a.gb2260
FROM unnest(%(lon)s::float8[], %(lat)s::float8[]) WITH ORDINALITY AS p (lon, lat, i)
JOIN admin_unit a
  ON a.level = 'county'
 AND ST_Intersects(a.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326));
