-- Per village, the highest forest-fire danger level active at `at`: rows for the village, its
-- township or county by code, or with a geometry containing the village's label point (two
-- joins, each able to use its index, rather than one OR join).
WITH active AS (
    SELECT * FROM fire_danger WHERE valid_from <= %(at)s AND valid_to > %(at)s
), hits AS (
    SELECT v.code, f.level
    FROM active f JOIN admin_unit v ON v.level = 'village' AND f.area_code IS NOT NULL
     AND (v.code = f.area_code OR v.parent_code = f.area_code OR v.gb2260 = f.area_code)
    UNION ALL
    SELECT v.code, f.level
    FROM active f JOIN admin_unit v ON v.level = 'village' AND f.geom IS NOT NULL
     AND ST_Intersects(f.geom, v.label_point)
)
SELECT code, max(level)::float8 FROM hits GROUP BY code
