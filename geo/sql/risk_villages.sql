-- Villages with their exposure figures and the vector indicators of the risk maps: distance from
-- the village's label point (the settlement) to the nearest river, and the hazard points inside.
-- The 8 nearest rivers by planar `<->` (index-assisted, in degrees) are measured on the spheroid
-- and the smallest kept: 8 candidates absorb the degree-vs-metre distortion in practice.
SELECT v.code,
       ST_AsBinary(v.geom) AS wkb,
       coalesce(v.population, 0) AS population,
       coalesce(v.households, 0) AS households,
       v.schools,
       v.clinics,
       ST_Area(v.geom::geography) / 1e6 AS area_km2,
       r.river_km,
       hp.points
FROM village v
LEFT JOIN LATERAL (
    SELECT min(ST_Distance(v.label_point::geography, c.geom::geography)) / 1000.0 AS river_km
    FROM (SELECT geom FROM river ORDER BY geom <-> v.label_point LIMIT 8) c
) r ON true
CROSS JOIN LATERAL (
    SELECT count(*) AS points FROM hazard_point h WHERE ST_Covers(v.geom, h.geom)
) hp
WHERE %(county)s::text IS NULL OR v.county_code = %(county)s
ORDER BY v.code;
