-- depends: 0014_hazard_fire_quake
-- Village risk maps: per village and hazard a susceptibility class (from the DEM and layers), an
-- exposure class (people, households, schools, clinics) and a risk level from the documented
-- susceptibility × exposure matrix (geo/risk.py). Recomputing with the same inputs gives the same
-- rows; `inputs` records the raster files (path, sha256) and dataset versions used.

CREATE TABLE village_risk (
    village_code          text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    hazard                text NOT NULL CHECK (hazard IN ('flash_flood', 'geohazard', 'forest_fire')),
    susceptibility_class  smallint NOT NULL CHECK (susceptibility_class BETWEEN 1 AND 4),
    exposure_class        smallint NOT NULL CHECK (exposure_class BETWEEN 1 AND 4),
    risk_level            smallint NOT NULL CHECK (risk_level BETWEEN 1 AND 4),
    -- exposure figures
    population            integer NOT NULL CHECK (population >= 0),
    households            integer NOT NULL CHECK (households >= 0 AND households <= population),
    schools               smallint NOT NULL CHECK (schools >= 0),
    clinics               smallint NOT NULL CHECK (clinics >= 0),
    -- susceptibility indicators (NULL where the hazard does not use them)
    hand_m_p10            double precision CHECK (hand_m_p10 >= 0),
    low_ground_share      double precision CHECK (low_ground_share BETWEEN 0 AND 1),
    river_km              double precision CHECK (river_km >= 0),
    slope_mean            double precision CHECK (slope_mean BETWEEN 0 AND 90),
    hazard_points_per_km2 double precision CHECK (hazard_points_per_km2 >= 0),
    forest_fraction       double precision CHECK (forest_fraction BETWEEN 0 AND 1),
    dem_coverage          double precision NOT NULL CHECK (dem_coverage BETWEEN 0 AND 1),
    method                text NOT NULL CHECK (length(method) > 0),
    method_version        text NOT NULL CHECK (length(method_version) > 0),
    inputs                jsonb NOT NULL CHECK (jsonb_typeof(inputs) = 'object'),
    computed_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (village_code, hazard),
    CHECK (hazard <> 'flash_flood' OR hand_m_p10 IS NOT NULL),
    CHECK (hazard <> 'geohazard' OR (slope_mean IS NOT NULL AND hazard_points_per_km2 IS NOT NULL)),
    CHECK (hazard <> 'forest_fire' OR (forest_fraction IS NOT NULL AND slope_mean IS NOT NULL))
);
CREATE INDEX village_risk_level_idx ON village_risk (hazard, risk_level);
COMMENT ON TABLE village_risk IS
    'Susceptibility, exposure and risk level (1 low … 4 very high) per village and hazard';

-- The map layer: risk rows with the village outline, for tiles and GeoJSON.
CREATE VIEW village_risk_layer AS
    SELECT r.*, v.name, v.township_code, v.geom
    FROM village_risk r JOIN village v ON v.code = r.village_code;
