-- depends: 0010_village_rain
-- Observations fed by ingest: geohazard sensor readings and regional risk warnings, forest-fire
-- satellite hotspots and danger ratings, and earthquakes (USGS GeoJSON, QuakeML).
-- Surrogate ids are bigserial, not IDENTITY: the ingest pipeline stages rows in
-- CREATE TABLE … (LIKE t INCLUDING DEFAULTS), which keeps an identity column's NOT NULL but not
-- its generator, so every staged row would fail; a sequence default is copied and works.

-- One reading of a monitoring sensor (GNSS displacement, crack meter, slope rain gauge, tailings
-- dam phreatic line …), stored in the sensor's own unit (the feed converts m ↔ mm etc.).
CREATE TABLE sensor_obs (
    sensor_id  text NOT NULL REFERENCES sensor (id) ON DELETE CASCADE,
    tm         timestamptz NOT NULL,
    value      double precision NOT NULL CHECK (value > -1e6 AND value < 1e6),  -- also rejects NaN
    unit       text NOT NULL CHECK (length(unit) > 0),
    ingest_id  bigint REFERENCES ingest_log (id) ON DELETE SET NULL,
    PRIMARY KEY (sensor_id, tm)
);
CREATE INDEX sensor_obs_tm_idx ON sensor_obs (tm);
COMMENT ON TABLE sensor_obs IS 'Monitoring sensor readings, in the unit of the sensor (sensor.unit)';

-- Regional geohazard meteorological risk warning (地质灾害气象风险预警): 四级 some risk (no colour),
-- 三级 yellow, 二级 orange, 一级 red.
CREATE TABLE geohazard_risk_area (
    id          bigserial PRIMARY KEY,  -- not IDENTITY: see the note at the top
    doc_id      text,                           -- the issuer's document id, when the file has one
    issuer      text NOT NULL CHECK (length(issuer) > 0),
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    colour      text GENERATED ALWAYS AS (
                    CASE level WHEN 1 THEN 'red' WHEN 2 THEN 'orange' WHEN 3 THEN 'yellow' END
                ) STORED,
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz NOT NULL,
    issued_at   timestamptz NOT NULL,
    geom        geometry(MultiPolygon, 4326) NOT NULL
                CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    geom_hash   char(32) NOT NULL,              -- md5 of the normalised WKB: part of the natural key
    ingest_id   bigint REFERENCES ingest_log (id) ON DELETE SET NULL,
    CHECK (valid_to > valid_from),
    UNIQUE (issuer, issued_at, level, geom_hash)
);
CREATE INDEX geohazard_risk_area_geom_idx ON geohazard_risk_area USING gist (geom);
CREATE INDEX geohazard_risk_area_valid_idx ON geohazard_risk_area (valid_to, valid_from);

-- Satellite active-fire detections (NASA FIRMS, MODIS 1 km and VIIRS 375 m). Coordinates are kept
-- rounded to 5 decimals (about 1 m) so the same detection re-sent by FIRMS is one row.
CREATE TABLE hotspot (
    id                    bigserial PRIMARY KEY,
    satellite             text NOT NULL CHECK (length(satellite) > 0),  -- T/A (Terra/Aqua), N, N20…
    instrument            text NOT NULL CHECK (instrument IN ('MODIS', 'VIIRS')),
    acquired_at           timestamptz NOT NULL,
    longitude             numeric(8, 5) NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    latitude              numeric(7, 5) NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    brightness_k          double precision NOT NULL CHECK (brightness_k > 150 AND brightness_k < 1000),
    -- 11 µm brightness temperature: MODIS band 31 or VIIRS I5
    bright_t31_k          double precision CHECK (bright_t31_k > 150 AND bright_t31_k < 1000),
    frp_mw                double precision CHECK (frp_mw >= 0 AND frp_mw < 100000),
    confidence_pct        smallint CHECK (confidence_pct BETWEEN 0 AND 100),      -- MODIS
    confidence_class      text CHECK (confidence_class IN ('low', 'nominal', 'high')),  -- VIIRS
    scan                  double precision CHECK (scan > 0 AND scan < 100),
    track                 double precision CHECK (track > 0 AND track < 100),
    version               text,
    daynight              char(1) CHECK (daynight IN ('D', 'N')),
    geom                  geometry(Point, 4326) GENERATED ALWAYS AS (
                              ST_SetSRID(ST_MakePoint(longitude::float8, latitude::float8), 4326)
                          ) STORED,
    nearest_village_code  text REFERENCES admin_unit (code) ON DELETE SET NULL,
    distance_km           double precision CHECK (distance_km >= 0),
    ingest_id             bigint REFERENCES ingest_log (id) ON DELETE SET NULL,
    CHECK (confidence_pct IS NULL OR confidence_class IS NULL),
    -- a tied hotspot has its distance; a deleted village (demo reloaded) leaves the distance
    CHECK (nearest_village_code IS NULL OR distance_km IS NOT NULL),
    UNIQUE (satellite, acquired_at, longitude, latitude)
);
CREATE INDEX hotspot_geom_idx ON hotspot USING gist (geom);
CREATE INDEX hotspot_time_idx ON hotspot (acquired_at DESC);
CREATE INDEX hotspot_village_idx ON hotspot (nearest_village_code);

-- Forest-fire danger weather rating per area: 1 low (green) … 5 extreme (red) (DOMAIN.md ⚠).
CREATE TABLE fire_danger (
    id          bigserial PRIMARY KEY,  -- not IDENTITY: see the note at the top
    area_code   text REFERENCES admin_unit (code) ON DELETE CASCADE,
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    colour      text GENERATED ALWAYS AS (
                    (ARRAY['green', 'blue', 'yellow', 'orange', 'red'])[level]
                ) STORED,
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz NOT NULL,
    issuer      text,
    area_key    text NOT NULL,                  -- area_code, or md5 of the geometry when none
    geom        geometry(MultiPolygon, 4326)    -- from the file, or from admin_unit by code
                CHECK (geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))),
    ingest_id   bigint REFERENCES ingest_log (id) ON DELETE SET NULL,
    CHECK (valid_to > valid_from),
    CHECK (area_code IS NOT NULL OR geom IS NOT NULL),
    CONSTRAINT fire_danger_key UNIQUE NULLS NOT DISTINCT (area_key, valid_from, valid_to, issuer)
);
CREATE INDEX fire_danger_geom_idx ON fire_danger USING gist (geom);
CREATE INDEX fire_danger_valid_idx ON fire_danger (valid_to, valid_from);

-- Earthquakes from USGS GeoJSON feeds and QuakeML documents; one row per event id.
CREATE TABLE earthquake (
    event_id     text PRIMARY KEY CHECK (length(event_id) > 0),  -- USGS id or QuakeML publicID
    source       text NOT NULL CHECK (source IN ('usgs-geojson', 'quakeml')),
    origin_time  timestamptz NOT NULL,
    magnitude    double precision CHECK (magnitude BETWEEN -2 AND 10),
    mag_type     text,                          -- lower-case: mw, mb, ml, md …
    depth_km     double precision CHECK (depth_km BETWEEN -10 AND 800),
    place        text,
    event_type   text,                          -- earthquake, quarry blast, volcanic eruption …
    status       text,                          -- lower-case: automatic, reviewed, deleted …
    geom         geometry(Point, 4326) NOT NULL
                 CHECK (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90),
    updated_at   timestamptz,                   -- the publisher's version time
    ingest_id    bigint REFERENCES ingest_log (id) ON DELETE SET NULL
);
CREATE INDEX earthquake_geom_idx ON earthquake USING gist (geom);
CREATE INDEX earthquake_time_idx ON earthquake (origin_time DESC);

-- Feeds re-send events; an older or same version must never overwrite a newer one, whichever
-- order the files arrive in. Skipping the row here keeps INSERT … ON CONFLICT DO UPDATE simple
-- and its row count honest (a skipped row counts as a duplicate).
CREATE FUNCTION earthquake_keep_newest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.updated_at IS NOT NULL
       AND (NEW.updated_at IS NULL OR NEW.updated_at <= OLD.updated_at) THEN
        RETURN NULL;
    END IF;
    IF OLD.updated_at IS NULL AND NEW.updated_at IS NULL
       AND (NEW.origin_time, NEW.magnitude, NEW.mag_type, NEW.depth_km, NEW.place,
            NEW.event_type, NEW.status, NEW.geom)
           IS NOT DISTINCT FROM (OLD.origin_time, OLD.magnitude, OLD.mag_type, OLD.depth_km,
                                 OLD.place, OLD.event_type, OLD.status, OLD.geom) THEN
        RETURN NULL;  -- unversioned (e.g. QuakeML without creation time) and unchanged
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER earthquake_keep_newest
    BEFORE UPDATE ON earthquake
    FOR EACH ROW EXECUTE FUNCTION earthquake_keep_newest();
