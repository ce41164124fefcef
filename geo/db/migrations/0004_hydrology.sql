-- depends: 0003_people_and_duty
-- Stations and their indicators, in the layout of SL 323 (实时雨水情数据库): ST_STBPRP_B,
-- ST_RVFCCH_B and ST_RSVRFSR_B. Observations arrive with the ingest migrations.

CREATE TABLE station (                      -- ST_STBPRP_B
    stcd        varchar(8) PRIMARY KEY CHECK (stcd ~ '^[0-9A-Z]{8}$'),
    stnm        text NOT NULL,
    sttp        char(2) NOT NULL CHECK (sttp IN ('PP', 'ZZ', 'ZQ', 'RR', 'DD', 'TT', 'DP')),
    rvnm        text,                         -- river
    hnnm        text,                         -- water system
    bsnm        text,                         -- basin
    stlc        text,                         -- location
    addvcd      char(6) NOT NULL CHECK (addvcd ~ '^[1-9]\d{5}$'),
    admauth     text,
    elevation_m double precision CHECK (elevation_m BETWEEN -500 AND 9000),
    dataset_id  text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX station_geom_idx ON station USING gist (geom);
CREATE INDEX station_type_idx ON station (sttp, addvcd);

CREATE TABLE river_indicator (              -- ST_RVFCCH_B
    stcd        varchar(8) PRIMARY KEY REFERENCES station (stcd) ON DELETE CASCADE,
    ldkel       double precision,             -- left dike crest
    rdkel       double precision,             -- right dike crest
    wrz         double precision NOT NULL,    -- 警戒水位 warning stage (m)
    alarm_z     double precision,             -- alarm stage between warning and guarantee
    grz         double precision NOT NULL,    -- 保证水位 guaranteed stage (m)
    forecast_z  double precision,             -- stage at which forecasting starts
    obhtz       double precision,             -- highest stage on record
    obhtztm     timestamptz,
    CHECK (grz > wrz),
    CHECK (alarm_z IS NULL OR alarm_z BETWEEN wrz AND grz),
    CHECK (forecast_z IS NULL OR forecast_z < wrz)
);

CREATE TABLE reservoir (                    -- 水库 characteristics
    stcd           varchar(8) PRIMARY KEY REFERENCES station (stcd) ON DELETE CASCADE,
    scale          text NOT NULL CHECK (scale IN ('large_1', 'large_2', 'medium', 'small_1', 'small_2')),
    dead_z         double precision NOT NULL,  -- 死水位
    normal_z       double precision NOT NULL,  -- 正常蓄水位
    design_flood_z double precision NOT NULL,  -- 设计洪水位
    check_flood_z  double precision NOT NULL,  -- 校核洪水位
    dam_crest_z    double precision NOT NULL,  -- 坝顶高程
    total_capacity double precision NOT NULL CHECK (total_capacity > 0),  -- 10⁶ m³
    CHECK (dead_z < normal_z AND normal_z <= design_flood_z
           AND design_flood_z <= check_flood_z AND check_flood_z < dam_crest_z)
);

CREATE TABLE reservoir_flood_limit (        -- ST_RSVRFSR_B: 汛限水位 by season
    stcd    varchar(8) NOT NULL REFERENCES reservoir (stcd) ON DELETE CASCADE,
    bgmd    char(4) NOT NULL CHECK (bgmd ~ '^(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$'),
    edmd    char(4) NOT NULL CHECK (edmd ~ '^(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$'),
    fsltdz  double precision NOT NULL,   -- 汛限水位 (m)
    fsltdw  double precision CHECK (fsltdw >= 0),  -- storage at that level (10⁶ m³)
    fstp    smallint NOT NULL CHECK (fstp IN (1, 2, 3)),  -- 1 main, 2 late, 3 transition season
    PRIMARY KEY (stcd, bgmd)
);

-- Which villages a station concerns: those downstream of a river gauge or reservoir, or in a
-- rain gauge's area. Rules raise a station's warnings on these villages.
CREATE TABLE station_village (
    stcd         varchar(8) NOT NULL REFERENCES station (stcd) ON DELETE CASCADE,
    village_code text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    relation     text NOT NULL CHECK (relation IN ('downstream', 'floodplain', 'rain_area', 'nearby')),
    distance_km  double precision CHECK (distance_km >= 0),
    PRIMARY KEY (stcd, village_code)
);
CREATE INDEX station_village_village_idx ON station_village (village_code);

CREATE TABLE river (
    id                bigint PRIMARY KEY,
    name              text,
    strahler          smallint NOT NULL CHECK (strahler >= 1),
    upstream_area_km2 double precision NOT NULL CHECK (upstream_area_km2 > 0),
    length_km         double precision NOT NULL CHECK (length_km >= 0),
    dataset_id        text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom              geometry(LineString, 4326) NOT NULL
);
CREATE INDEX river_geom_idx ON river USING gist (geom);

CREATE TABLE dike (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    rvnm        text,
    grade       smallint CHECK (grade BETWEEN 1 AND 5),   -- 堤防级别
    length_km   double precision CHECK (length_km > 0),
    dataset_id  text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    geom        geometry(LineString, 4326) NOT NULL
);
CREATE INDEX dike_geom_idx ON dike USING gist (geom);

-- Gridded and raster layers stay files; the database catalogues them (DEM, land cover, grids).
CREATE TABLE raster_layer (
    id          text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('dem', 'land_cover', 'forest', 'hillshade', 'grid')),
    path        text NOT NULL,
    crs         text NOT NULL,
    width       integer NOT NULL CHECK (width > 0),
    height      integer NOT NULL CHECK (height > 0),
    transform   double precision[] NOT NULL CHECK (cardinality(transform) = 6),
    units       text,
    sha256      char(64) NOT NULL,
    dataset_id  text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    footprint   geometry(Polygon, 4326) NOT NULL
);
