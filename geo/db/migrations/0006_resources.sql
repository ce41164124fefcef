-- depends: 0005_flash_flood_and_geohazard
-- The emergency-resource "one map" (应急资源一张图): warehouses and stock, shelters, rescue teams,
-- experts and vehicles.

CREATE TABLE warehouse (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    level       text NOT NULL CHECK (level IN ('county', 'township', 'village')),
    admin_code  text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    address     text,
    manager_id  text REFERENCES person (id) ON DELETE SET NULL,
    floor_m2    double precision CHECK (floor_m2 > 0),
    dataset_id  text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX warehouse_geom_idx ON warehouse USING gist (geom);

CREATE TABLE stock (
    warehouse_id text NOT NULL REFERENCES warehouse (id) ON DELETE CASCADE,
    item         text NOT NULL CHECK (item ~ '^[a-z][a-z0-9_]*$'),
    item_name    text NOT NULL,            -- zh-CN name shown to users
    unit         text NOT NULL,
    quantity     numeric NOT NULL CHECK (quantity >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (warehouse_id, item)
);
CREATE INDEX stock_item_idx ON stock (item);

CREATE TABLE shelter (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('school', 'gymnasium', 'community_centre',
                                              'open_space', 'purpose_built', 'government')),
    admin_code  text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    capacity    integer NOT NULL CHECK (capacity > 0),
    occupancy   integer NOT NULL DEFAULT 0 CHECK (occupancy >= 0),
    area_m2     double precision CHECK (area_m2 > 0),
    manager_id  text REFERENCES person (id) ON DELETE SET NULL,
    dataset_id  text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom        geometry(Point, 4326) NOT NULL,
    CHECK (occupancy <= capacity)
);
CREATE INDEX shelter_geom_idx ON shelter USING gist (geom);

CREATE TABLE rescue_team (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    specialty   text NOT NULL CHECK (specialty IN ('road_traffic', 'flood_control',
                  'hazardous_chemicals', 'forest_fire', 'outdoor_rescue', 'comprehensive',
                  'medical', 'mine_rescue')),
    level       text NOT NULL CHECK (level IN ('county', 'township', 'village')),
    admin_code  text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    leader_id   text REFERENCES person (id) ON DELETE SET NULL,
    dataset_id  text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX rescue_team_geom_idx ON rescue_team USING gist (geom);

CREATE TABLE team_member (
    team_id    text NOT NULL REFERENCES rescue_team (id) ON DELETE CASCADE,
    person_id  text NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    role       text NOT NULL DEFAULT 'member' CHECK (role IN ('leader', 'deputy', 'member')),
    PRIMARY KEY (team_id, person_id)
);

CREATE TABLE team_equipment (
    team_id    text NOT NULL REFERENCES rescue_team (id) ON DELETE CASCADE,
    item       text NOT NULL CHECK (item ~ '^[a-z][a-z0-9_]*$'),
    item_name  text NOT NULL,
    quantity   integer NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (team_id, item)
);

CREATE TABLE expert (
    person_id  text PRIMARY KEY REFERENCES person (id) ON DELETE CASCADE,
    specialty  text NOT NULL CHECK (specialty IN ('flood', 'geohazard', 'forest_fire',
                  'hazardous_chemicals', 'meteorology', 'structural', 'medical', 'mining')),
    employer   text,
    dataset_id text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE
);

CREATE TABLE vehicle (
    id           text PRIMARY KEY,
    plate        text NOT NULL UNIQUE CHECK (plate ~ '^[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}$'),
    kind         text NOT NULL CHECK (kind IN ('rescue', 'fire_engine', 'ambulance', 'truck',
                                               'boat_trailer', 'command', 'excavator')),
    seats        smallint CHECK (seats >= 0),
    payload_t    double precision CHECK (payload_t >= 0),
    team_id      text REFERENCES rescue_team (id) ON DELETE SET NULL,
    warehouse_id text REFERENCES warehouse (id) ON DELETE SET NULL,
    dataset_id   text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom         geometry(Point, 4326) NOT NULL
);
CREATE INDEX vehicle_geom_idx ON vehicle USING gist (geom);
