-- The stored downstream villages of a site, nearest first, with names for the texts.
SELECT d.village_code, v.name, d.ord, d.distance_m, d.offset_m, d.min_elevation_m,
       d.below_crest_m, v.population
FROM ws_site_downstream d
JOIN admin_unit v ON v.code = d.village_code
WHERE d.site_id = %(site_id)s
ORDER BY d.ord;
