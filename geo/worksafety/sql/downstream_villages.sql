-- The stored downstream villages of a site, nearest first, with names for the texts and the
-- reach of the path they were found along.
SELECT d.village_code, v.name, d.ord, d.distance_m, d.offset_m, d.min_elevation_m,
       d.below_crest_m, v.population, p.max_distance_m
FROM ws_site_downstream d
JOIN ws_site_downstream_path p USING (site_id)
JOIN admin_unit v ON v.code = d.village_code
WHERE d.site_id = %(site_id)s
ORDER BY d.ord;
