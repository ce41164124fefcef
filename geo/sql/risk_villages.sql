-- Villages with their exposure figures and the vector indicators of the risk maps: distance from
-- the village's label point (the settlement) to the nearest river, and the hazard points inside.
-- The 8 nearest rivers by planar `<->` (index-assisted, in degrees) are measured on the spheroid
-- and the smallest kept: 8 candidates absorb the degree-vs-metre distortion in practice.
-- A dataset that brings its own rivers (a demo county: drawn from its own synthetic terrain,
-- which runs past the county line over its neighbours' own) is measured against those only; a
-- village whose dataset has none (real villages, rivers from another source) against all. Only
-- the county's own hazard points count (outlines of neighbours may overlap by a few metres).
WITH own_rivers AS MATERIALIZED (
    SELECT DISTINCT dataset_id FROM river
)
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
LEFT JOIN own_rivers o ON o.dataset_id = v.dataset_id
LEFT JOIN LATERAL (
    SELECT min(ST_Distance(v.label_point::geography, c.geom::geography)) / 1000.0 AS river_km
    FROM (SELECT geom FROM river
          WHERE o.dataset_id IS NULL OR river.dataset_id = v.dataset_id
          ORDER BY geom <-> v.label_point LIMIT 8) c
) r ON true
CROSS JOIN LATERAL (
    SELECT count(*) AS points FROM hazard_point h
    WHERE ST_Covers(v.geom, h.geom) AND left(h.village_code, 6) = v.county_code
) hp
WHERE %(counties)s::text[] IS NULL OR v.county_code = ANY (%(counties)s::text[])
ORDER BY v.code;
