-- How far (metres, geodesic) a report's point lies from the village it names: 0 inside it; no
-- row when there is no such village.
SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography),
       name
FROM village WHERE code = %(code)s;
