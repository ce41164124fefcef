-- Tailings dams to compute the downstream path of: one (%(site)s) or all.
SELECT s.id, s.name, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
       (s.details ->> 'dam_height_m')::double precision AS dam_height_m,
       (s.details ->> 'crest_elevation_m')::double precision AS crest_elevation_m
FROM hazardous_site s
WHERE s.kind = 'tailings_dam' AND (%(site)s::text IS NULL OR s.id = %(site)s::text)
ORDER BY s.id;
