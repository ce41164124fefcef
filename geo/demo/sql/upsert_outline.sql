-- Real outlines are shared by every demo county: insert once, refresh the geometry on reload
-- only when it changed (an unchanged row is not rewritten: another county's load leaves it be).
INSERT INTO admin_unit (code, level, parent_code, name, kind, gb2260, stat_code, dataset_id, geom,
                        area_km2)
VALUES (%(code)s, %(level)s, %(parent_code)s, %(name)s, %(kind)s, %(gb2260)s,
        rpad(%(code)s, 12, '0'), %(dataset_id)s, ST_Multi(ST_GeomFromWKB(%(wkb)s, 4326)),
        ST_Area(ST_GeomFromWKB(%(wkb)s, 4326)::geography) / 1e6)
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name, geom = EXCLUDED.geom, area_km2 = EXCLUDED.area_km2
WHERE admin_unit.name IS DISTINCT FROM EXCLUDED.name
   OR admin_unit.geom IS DISTINCT FROM EXCLUDED.geom;
