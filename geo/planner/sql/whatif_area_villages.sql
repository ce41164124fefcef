-- The villages of an administrative unit (township, county …) by its code, and whether the unit
-- exists at all.
SELECT EXISTS (SELECT 1 FROM admin_unit WHERE code = %(code)s),
       coalesce((SELECT array_agg(v.code ORDER BY v.code) FROM village v
                 WHERE v.code LIKE %(code)s || '%%' AND v.code <> %(code)s), '{}')
