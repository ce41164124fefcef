-- The area of a CAP message: its issuing bureau's unit (%(issuer)s, a city or county; NULL: the
-- villages' county), how many townships and villages, the township name
-- when there is one, the outline of each of its villages (WKB) to draw <polygon>s from, and the
-- outlines of the other villages near it, which the polygons must keep out (cap_polygons.py).
WITH v AS (
    SELECT code, parent_code, gb2260, name, geom
    FROM admin_unit
    WHERE level = 'village' AND code = ANY(%(villages)s::text[])
),
near AS (  -- 0.01° (about 1 km) beyond the area: farther than any simplification reaches
    SELECT ST_Expand(ST_Extent(geom)::geometry, 0.01) AS box FROM v
)
SELECT c.code AS county_code, c.name AS county_name, c.name_en AS county_name_en,
       (SELECT count(DISTINCT parent_code) FROM v) AS townships,
       (SELECT min(t.name) FROM admin_unit t WHERE t.code = (SELECT min(parent_code) FROM v))
           AS first_township,
       (SELECT count(*) FROM v) AS villages,
       (SELECT min(name) FROM v) AS first_village,
       (SELECT array_agg(code ORDER BY code) FROM v) AS codes,
       (SELECT array_agg(ST_AsBinary(geom) ORDER BY code) FROM v) AS outlines,
       (SELECT coalesce(array_agg(ST_AsBinary(o.geom) ORDER BY o.code), '{}')
        FROM admin_unit o, near
        WHERE o.level = 'village' AND o.geom && near.box
          AND NOT o.code = ANY(%(villages)s::text[])) AS others
FROM admin_unit c
WHERE c.code = coalesce(%(issuer)s::text, (SELECT min(gb2260) FROM v));
