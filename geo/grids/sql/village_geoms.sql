-- Village outlines (WGS 84) inside a grid's footprint, in the order of their version hash.
SELECT a.code, ST_AsBinary(a.geom)
FROM admin_unit a
JOIN grid_definition g ON g.id = %(grid)s
WHERE a.level = 'village' AND a.geom && g.footprint AND ST_Intersects(a.geom, g.footprint)
ORDER BY a.code;
