-- Village risk maps as geo.risk builds them (village_risk_layer, migration 0015), with the
-- township name. %(hazard)s NULL = every hazard.
SELECT r.village_code, r.name, r.township_code, t.name AS township_name, r.hazard,
       r.susceptibility_class, r.exposure_class, r.risk_level, r.population, r.households,
       r.schools, r.clinics, r.hand_m_p10, r.low_ground_share, r.river_km, r.slope_mean,
       r.hazard_points_per_km2, r.forest_fraction, r.dem_coverage, r.method, r.method_version,
       r.computed_at, ST_AsBinary(r.geom) AS wkb
FROM village_risk_layer r
LEFT JOIN admin_unit t ON t.code = r.township_code
WHERE %(hazard)s::text IS NULL OR r.hazard = %(hazard)s::text
ORDER BY r.village_code, r.hazard;
