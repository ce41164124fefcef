-- Ratings given by admin code take the unit's outline.
UPDATE fire_danger f
SET geom = a.geom
FROM admin_unit a
WHERE f.ingest_id = %(ingest_id)s AND f.geom IS NULL AND a.code = f.area_code;
