-- depends: 0004_hydrology
-- Flash-flood critical rainfall per village (山洪 临界雨量) and geohazard hazard points (隐患点).

CREATE TABLE flash_flood_threshold (
    village_code  text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    duration_h    smallint NOT NULL CHECK (duration_h IN (1, 3, 6, 12, 24)),
    soil_state    text NOT NULL DEFAULT 'any' CHECK (soil_state IN ('any', 'dry', 'normal', 'wet')),
    prepare_mm    double precision NOT NULL CHECK (prepare_mm > 0 AND prepare_mm < 1000),   -- 准备转移
    immediate_mm  double precision NOT NULL CHECK (immediate_mm > 0 AND immediate_mm < 1000), -- 立即转移
    method        text,
    dataset_id    text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    PRIMARY KEY (village_code, duration_h, soil_state),
    CHECK (immediate_mm > prepare_mm)
);

-- County-wide fallback table for villages without their own indicators (DOMAIN.md example ⚠).
CREATE TABLE rain_threshold_default (
    scope_code  char(6) NOT NULL CHECK (scope_code ~ '^[1-9]\d{5}$'),
    colour      text NOT NULL CHECK (colour IN ('blue', 'yellow', 'orange', 'red')),
    duration_h  smallint NOT NULL CHECK (duration_h IN (1, 3, 6, 12, 24)),
    rain_mm     double precision NOT NULL CHECK (rain_mm > 0),
    dataset_id  text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    PRIMARY KEY (scope_code, colour, duration_h)
);

CREATE TABLE hazard_point (
    id                    text PRIMARY KEY,           -- 统一编号
    name                  text NOT NULL,
    kind                  text NOT NULL CHECK (kind IN ('landslide', 'collapse', 'debris_flow',
                                     'subsidence', 'ground_fissure', 'unstable_slope')),
    scale                 text NOT NULL CHECK (scale IN ('small', 'medium', 'large', 'very_large')),
    village_code          text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    threatened_people     integer NOT NULL CHECK (threatened_people >= 0),
    threatened_households integer NOT NULL CHECK (threatened_households >= 0),
    threatened_property   double precision CHECK (threatened_property >= 0),  -- 10⁴ CNY
    monitor_id            text REFERENCES person (id) ON DELETE SET NULL,     -- 群测群防员
    responsible_id        text REFERENCES person (id) ON DELETE SET NULL,
    warning_signal        text,                        -- evacuation card: agreed signal
    evacuation_route      text,
    slope_deg             double precision CHECK (slope_deg BETWEEN 0 AND 90),
    dataset_id            text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom                  geometry(Point, 4326) NOT NULL,
    CHECK (threatened_households <= threatened_people)
);
CREATE INDEX hazard_point_geom_idx ON hazard_point USING gist (geom);
CREATE INDEX hazard_point_village_idx ON hazard_point (village_code);
