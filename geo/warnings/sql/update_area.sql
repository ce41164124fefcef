-- Set a warning's villages and recompute its geometry as the union of their polygons, on the
-- 1e-6° grid GeoJSON and CAP are written on (so six decimals never make it self-intersect).
UPDATE warning w
SET village_codes = %(village_codes)s::text[], geom = u.geom, updated_at = now()
FROM (SELECT ST_Multi(ST_CollectionExtract(ST_ReducePrecision(ST_Union(geom), 1e-6), 3)) AS geom
      FROM admin_unit
      WHERE level = 'village' AND code = ANY(%(village_codes)s::text[])) u
WHERE w.id = %(id)s;
