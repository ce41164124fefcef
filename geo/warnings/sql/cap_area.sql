-- The area of a CAP message: its county, how many townships and villages, the township name
-- when there is one, and the union of the village polygons (WKB) to draw <polygon>s from.
WITH v AS (
    SELECT code, parent_code, gb2260, name, geom
    FROM admin_unit
    WHERE level = 'village' AND code = ANY(%(villages)s::text[])
)
SELECT c.code AS county_code, c.name AS county_name, c.name_en AS county_name_en,
       (SELECT count(DISTINCT parent_code) FROM v) AS townships,
       (SELECT min(t.name) FROM admin_unit t WHERE t.code = (SELECT min(parent_code) FROM v))
           AS first_township,
       (SELECT count(*) FROM v) AS villages,
       (SELECT min(name) FROM v) AS first_village,
       (SELECT array_agg(code ORDER BY code) FROM v) AS codes,
       (SELECT ST_AsBinary(ST_Union(geom)) FROM v) AS geom
FROM admin_unit c
WHERE c.code = (SELECT min(gb2260) FROM v);
