-- The affected area: the union of the given villages' outlines (EPSG:4326, WKB).
SELECT ST_AsBinary(ST_Multi(ST_Union(geom))) FROM village WHERE code = ANY(%(codes)s);
