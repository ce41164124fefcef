-- depends: 0047_village_rain_frequency
-- Issue 21: work-safety monitoring (安全生产风险监测预警) of hazardous sites — tailings dams
-- (尾矿库, GB 51108-2015), major-hazard chemical installations (危险化学品重大危险源) and fireworks
-- warehouses. A site's monitoring items (监测项目) have points (监测点), each with graded
-- thresholds set per site from its design (configuration, loaded by `riskmap sites load`), and
-- its readings land in a table partitioned by month (retention drops whole months).
--
-- The older `sensor` / `sensor_obs` tables (one alarm value per sensor, migration 0007/0014)
-- stay for geohazard points; work-safety points live here.

-- A site's monitoring settings beyond hazardous_site: who supervises it and how its alarms run.
CREATE TABLE ws_site (
    site_id             text PRIMARY KEY REFERENCES hazardous_site (id) ON DELETE CASCADE,
    -- the bureau's supervising section: 危化股 (hazardous chemicals), 矿山股 (mines, tailings), ...
    supervising_section text NOT NULL CHECK (length(supervising_section) > 0),
    maintenance_contact text REFERENCES person (id) ON DELETE SET NULL,  -- 设备运维 contact
    -- a red dam alarm's 立即转移 proposal is issued without a commander's review
    auto_issue          boolean NOT NULL DEFAULT false,
    config              jsonb NOT NULL DEFAULT '{}'::jsonb,  -- the loaded file, for display
    config_sha256       text NOT NULL,
    dataset_id          text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE
);
CREATE INDEX ws_site_dataset_idx ON ws_site (dataset_id);
CREATE INDEX ws_site_maintenance_idx ON ws_site (maintenance_contact);

CREATE TABLE ws_point (
    id           text PRIMARY KEY,            -- stable, from the configuration
    n            integer GENERATED ALWAYS AS IDENTITY UNIQUE,  -- compact key of readings
    site_id      text NOT NULL REFERENCES ws_site (site_id) ON DELETE CASCADE,
    -- the monitoring item (监测项目); GB 51108 for dams, AQ 3035 / GB 50493 for chemicals
    item         text NOT NULL CHECK (item IN (
                   'surface_displacement', 'internal_displacement', 'phreatic_depth',
                   'dry_beach_length', 'freeboard', 'pond_level', 'rainfall',
                   'reservoir_landslide',                                      -- tailings dam
                   'tank_level', 'temperature', 'pressure', 'combustible_gas', 'toxic_gas',
                   'humidity', 'stored_quantity')),                            -- chemicals, fireworks
    quantity     text NOT NULL DEFAULT 'amount' CHECK (quantity IN ('amount', 'rate')),
    name         text NOT NULL CHECK (length(name) > 0),  -- zh, e.g. 坝顶表面位移 GP1
    unit         text NOT NULL,
    -- alarm when the value is above the thresholds, or below them (浸润线埋深, 干滩长度, 安全超高)
    direction    text NOT NULL CHECK (direction IN ('above', 'below')),
    -- physical range of the device: a reading outside it is a device fault, not an alarm
    phys_min     double precision,
    phys_max     double precision,
    max_jump     double precision CHECK (max_jump > 0),  -- largest believable change per reading
    -- HJ 212 device (MN) and factor code (e.g. 'a01001'); MQTT / HTTP name it by id
    mn           text,
    factor       text,
    dataset_id   text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom         geometry(Point, 4326) NOT NULL,
    CHECK (phys_min IS NULL OR phys_max IS NULL OR phys_min < phys_max),
    CHECK ((mn IS NULL) = (factor IS NULL)),
    UNIQUE (mn, factor)
);
CREATE INDEX ws_point_site_idx ON ws_point (site_id);
CREATE INDEX ws_point_geom_idx ON ws_point USING gist (geom);
CREATE INDEX ws_point_dataset_idx ON ws_point (dataset_id);

-- Graded thresholds of a point: the four colours (GB 51108 for dams) or high / high-high
-- (高报 / 高高报, chemical installations). Ordered along the direction (checked by the loader).
CREATE TABLE ws_threshold (
    point_id  text NOT NULL REFERENCES ws_point (id) ON DELETE CASCADE,
    level     text NOT NULL CHECK (level IN ('blue', 'yellow', 'orange', 'red', 'high', 'high_high')),
    value     double precision NOT NULL,
    PRIMARY KEY (point_id, level)
);

-- Readings, partitioned by month of tm (UTC). Partitions are made ahead by
-- ws_reading_ensure_partitions and dropped whole by ws_reading_drop_before (retention).
-- No foreign key: ingest maps devices to points before it writes.
CREATE TABLE ws_reading (
    point_n  integer NOT NULL,
    tm       timestamptz NOT NULL,
    value    double precision NOT NULL,
    -- the device's data flag (HJ 212: N normal, F stopped, M maintenance, S set by hand,
    -- D fault, C calibration, T over range); only N readings count for alarms
    flag     char(1) NOT NULL DEFAULT 'N',
    PRIMARY KEY (point_n, tm)
) PARTITION BY RANGE (tm);
COMMENT ON TABLE ws_reading IS 'Work-safety monitoring readings, one partition per month';

CREATE FUNCTION ws_reading_ensure_partitions(t_from timestamptz, t_to timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m timestamp := date_trunc('month', t_from AT TIME ZONE 'UTC');  -- UTC wall time
    made integer := 0;
    name text;
BEGIN
    WHILE m AT TIME ZONE 'UTC' <= t_to LOOP
        name := 'ws_reading_' || to_char(m, 'YYYYMM');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF ws_reading FOR VALUES FROM (%L) TO (%L)',
                           name, m AT TIME ZONE 'UTC', (m + interval '1 month') AT TIME ZONE 'UTC');
            made := made + 1;
        END IF;
        m := m + interval '1 month';
    END LOOP;
    RETURN made;
END $$;

-- Drops the months that end at or before `t` (retention); returns how many were dropped.
CREATE FUNCTION ws_reading_drop_before(t timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname, to_date(substr(c.relname, 12), 'YYYYMM')::timestamp AS m
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'ws_reading'::regclass AND c.relname ~ '^ws_reading_\d{6}$'
    LOOP
        IF (part.m + interval '1 month') AT TIME ZONE 'UTC' <= t THEN
            EXECUTE format('DROP TABLE %I', part.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;
