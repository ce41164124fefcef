-- The villages a grid's footprint touches and their version: md5 over the codes and geometries
-- (ordered), so cached zonal weights are rebuilt whenever a boundary or the set changes.
WITH v AS (
    SELECT a.code, a.geom
    FROM admin_unit a
    JOIN grid_definition g ON g.id = %(grid)s
    WHERE a.level = 'village' AND a.geom && g.footprint AND ST_Intersects(a.geom, g.footprint)
)
SELECT md5(coalesce(string_agg(v.code || ':' || md5(ST_AsBinary(v.geom)), ',' ORDER BY v.code), '')),
       coalesce(array_agg(v.code ORDER BY v.code), '{}')
FROM v;
