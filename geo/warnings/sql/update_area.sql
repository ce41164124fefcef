-- Set a warning's villages and recompute its geometry as the union of their polygons.
UPDATE warning w
SET village_codes = %(village_codes)s::text[], geom = u.geom, updated_at = now()
FROM (SELECT ST_Multi(ST_Union(geom)) AS geom FROM admin_unit
      WHERE level = 'village' AND code = ANY(%(village_codes)s::text[])) u
WHERE w.id = %(id)s;
