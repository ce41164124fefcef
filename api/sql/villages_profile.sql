-- A village with its township and county, for its profile.
SELECT v.code, v.name, v.name_en, v.kind, v.urban_rural, v.population, v.households,
       v.schools, v.clinics, v.area_km2, v.dataset_id,
       ST_X(v.label_point) AS lon, ST_Y(v.label_point) AS lat,
       v.township_code, t.name AS township_name, v.county_code, c.name AS county_name
FROM village v
LEFT JOIN admin_unit t ON t.code = v.township_code
LEFT JOIN admin_unit c ON c.code = v.county_code AND c.level = 'county'
WHERE v.code = %(code)s;
