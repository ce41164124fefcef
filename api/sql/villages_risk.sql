-- Risk level per hazard with the method and inputs that produced it (0015_risk_maps).
SELECT hazard, risk_level, susceptibility_class, exposure_class, population, households,
       schools, clinics, hand_m_p10, low_ground_share, river_km, slope_mean,
       hazard_points_per_km2, forest_fraction, dem_coverage, method, method_version, inputs,
       computed_at
FROM village_risk WHERE village_code = %(code)s ORDER BY hazard;
