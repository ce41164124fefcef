-- The villages a warning covers that exist, with their county (to build the CAP sender).
SELECT a.code, a.gb2260 AS county_code, c.name AS county_name
FROM admin_unit a
LEFT JOIN admin_unit c ON c.code = a.gb2260
WHERE a.level = 'village' AND a.code = ANY(%(villages)s::text[]);
