-- The villages below a tailings dam (riskmap sites downstream), nearest first.
SELECT d.ord, d.village_code, v.name AS village_name, t.name AS township_name,
       round(d.distance_m) AS distance_m, round(d.below_crest_m::numeric, 1)::float8 AS below_crest_m,
       v.population
FROM ws_site_downstream d
JOIN admin_unit v ON v.code = d.village_code
LEFT JOIN admin_unit t ON t.code = v.parent_code
WHERE d.site_id = %(id)s
ORDER BY d.ord;
