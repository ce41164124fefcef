-- depends: 0010_village_rain
-- Station observations in the layout of SL 323 (实时雨水情数据库): ST_PPTN_R rainfall,
-- ST_RIVER_R river stage and flow, ST_RSVR_R reservoir level and storage. Times are UTC
-- (SL 323 files carry Beijing time; the ingest feed converts). The natural key (STCD, TM) makes
-- re-ingest idempotent. Columns of SL 323 not needed by the rules (XSAVV, XSMXV, MSQMT, ...) are
-- not kept.

CREATE TABLE rain_obs (                     -- ST_PPTN_R
    stcd       varchar(8) NOT NULL REFERENCES station (stcd) ON DELETE CASCADE,
    tm         timestamptz NOT NULL,          -- end of the period DRP was measured over
    drp        double precision CHECK (drp >= 0 AND drp < 2000),   -- rain in the period (mm)
    intv       numeric(5, 2) CHECK (intv > 0 AND intv <= 744),     -- period, hours.minutes ⚠
    pdr        numeric(5, 2) CHECK (pdr >= 0),                     -- rain duration, hours.minutes
    dyp        double precision CHECK (dyp >= 0 AND dyp < 2000),   -- daily rain (mm)
    wth        char(1),                                           -- weather code
    ingest_id  bigint,  -- provenance (ingest_log.id); no FK: checking it per row halves COPY speed
    PRIMARY KEY (stcd, tm),
    -- more than 300 mm within an hour is beyond any record: a sentinel or a unit error
    CHECK (drp IS NULL OR intv IS NULL OR intv > 1 OR drp <= 300)
);
CREATE INDEX rain_obs_tm_idx ON rain_obs (tm);

CREATE TABLE river_obs (                    -- ST_RIVER_R
    stcd       varchar(8) NOT NULL REFERENCES station (stcd) ON DELETE CASCADE,
    tm         timestamptz NOT NULL,
    z          double precision CHECK (z BETWEEN -500 AND 9000),     -- stage (m)
    q          double precision CHECK (q > -100000 AND q < 500000),  -- flow (m³/s); < 0 in tidal reaches
    xsa        double precision CHECK (xsa >= 0),                    -- cross-section area (m²)
    flwchrcd   char(1),                                              -- flow character code
    wptn       smallint CHECK (wptn IN (4, 5, 6)),                   -- 4 falling, 5 rising, 6 steady ⚠
    ingest_id  bigint,  -- provenance (ingest_log.id); no FK: checking it per row halves COPY speed
    PRIMARY KEY (stcd, tm),
    CHECK (z IS NOT NULL OR q IS NOT NULL)
);
CREATE INDEX river_obs_tm_idx ON river_obs (tm);

CREATE TABLE reservoir_obs (                -- ST_RSVR_R
    stcd       varchar(8) NOT NULL REFERENCES station (stcd) ON DELETE CASCADE,
    tm         timestamptz NOT NULL,
    rz         double precision CHECK (rz BETWEEN -500 AND 9000),    -- level (m)
    inq        double precision CHECK (inq >= 0 AND inq < 500000),   -- inflow (m³/s)
    otq        double precision CHECK (otq >= 0 AND otq < 500000),   -- outflow (m³/s)
    w          double precision CHECK (w >= 0 AND w < 1000000),      -- storage (10⁶ m³)
    blrz       double precision CHECK (blrz BETWEEN -500 AND 9000),  -- tailwater level (m)
    rwptn      smallint CHECK (rwptn IN (4, 5, 6)),
    ingest_id  bigint,  -- provenance (ingest_log.id); no FK: checking it per row halves COPY speed
    PRIMARY KEY (stcd, tm),
    CHECK (rz IS NOT NULL OR inq IS NOT NULL OR otq IS NOT NULL OR w IS NOT NULL)
);
CREATE INDEX reservoir_obs_tm_idx ON reservoir_obs (tm);
