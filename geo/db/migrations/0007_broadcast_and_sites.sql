-- depends: 0006_resources
-- Village broadcast terminals (村村响), hazardous sites and the sensors that watch sites and slopes.

CREATE TABLE broadcast_terminal (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    village_code  text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    protocol      text NOT NULL CHECK (protocol IN ('http-json', 'ebm-xml', 'mqtt')),
    endpoint      text NOT NULL CHECK (endpoint ~ '^(https?|mqtts?)://'),
    speakers      smallint NOT NULL DEFAULT 1 CHECK (speakers >= 1),
    status        text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline', 'fault')),
    dataset_id    text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom          geometry(Point, 4326) NOT NULL
);
CREATE INDEX broadcast_terminal_village_idx ON broadcast_terminal (village_code);
CREATE INDEX broadcast_terminal_geom_idx ON broadcast_terminal USING gist (geom);

CREATE TABLE hazardous_site (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('chemical_plant', 'fireworks_warehouse',
                        'fireworks_shop', 'tailings_dam', 'open_pit_slope')),
    operator          text,
    admin_code        text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    safety_contact_id text REFERENCES person (id) ON DELETE SET NULL,
    details           jsonb NOT NULL DEFAULT '{}'::jsonb,  -- e.g. dam height, stored chemicals
    dataset_id        text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom              geometry(Geometry, 4326) NOT NULL
                      CHECK (GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON'))
);
CREATE INDEX hazardous_site_geom_idx ON hazardous_site USING gist (geom);

CREATE TABLE sensor (
    id               text PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('gnss_displacement', 'crack_meter', 'rain_gauge',
                       'phreatic_line', 'inclinometer', 'water_level', 'gas')),
    unit             text NOT NULL,
    site_id          text REFERENCES hazardous_site (id) ON DELETE CASCADE,
    hazard_point_id  text REFERENCES hazard_point (id) ON DELETE CASCADE,
    alarm_value      double precision,
    alarm_when       text NOT NULL DEFAULT 'above' CHECK (alarm_when IN ('above', 'below')),
    dataset_id       text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom             geometry(Point, 4326) NOT NULL,
    CHECK (num_nonnulls(site_id, hazard_point_id) = 1)
);
CREATE INDEX sensor_geom_idx ON sensor USING gist (geom);
