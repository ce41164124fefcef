-- depends: 0018_users
-- Field reports (灾情直报): what people on the ground saw (a landslide, a flooded road, a fire),
-- where and when, with photos, checked by a forecaster (received → verified or false).
-- Written by geo/reports.py; photos are files under <data_dir>/reports/<id>/, catalogued here
-- with their SHA-256. The rules read reports through the observed_event view.

CREATE TABLE field_report (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('landslide', 'collapse', 'debris_flow', 'flood',
                                                   'waterlogging', 'fire', 'other')),
    village_code     text NOT NULL REFERENCES admin_unit (code),  -- given, or the one containing geom
    observed_at      timestamptz NOT NULL,
    reported_at      timestamptz NOT NULL DEFAULT now(),
    reporter         text NOT NULL REFERENCES app_user (name) ON UPDATE CASCADE,
    text             text NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    people_affected  integer CHECK (people_affected >= 0),
    dead             integer CHECK (dead >= 0),          -- 死亡
    injured          integer CHECK (injured >= 0),       -- 受伤
    missing          integer CHECK (missing >= 0),       -- 失踪
    -- houses_collapsed, houses_damaged, roads_blocked, farmland_ha, economic_loss_10k_cny
    damage           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(damage) = 'object'),
    status           text NOT NULL DEFAULT 'received'
                     CHECK (status IN ('received', 'verified', 'false')),
    verifier         text REFERENCES app_user (name) ON UPDATE CASCADE,
    verified_at      timestamptz,
    note             text CHECK (length(note) <= 2000),
    geom             geometry(Point, 4326) NOT NULL,
    CHECK ((status = 'received') = (verifier IS NULL)),
    CHECK ((verifier IS NULL) = (verified_at IS NULL)),
    CHECK (observed_at <= reported_at + interval '5 minutes')
);
CREATE INDEX field_report_geom_idx ON field_report USING gist (geom);
CREATE INDEX field_report_village_idx ON field_report (village_code, observed_at DESC);
CREATE INDEX field_report_status_idx ON field_report (status, observed_at DESC);
COMMENT ON TABLE field_report IS 'Field reports (灾情直报) from reporters, verified by forecasters';

CREATE TABLE field_report_photo (
    report_id     bigint NOT NULL REFERENCES field_report (id) ON DELETE CASCADE,
    n             smallint NOT NULL CHECK (n BETWEEN 1 AND 20),  -- 1, 2, … in upload order
    path          text NOT NULL,          -- relative to the data directory
    content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes         integer NOT NULL CHECK (bytes > 0),
    sha256        char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    width         integer NOT NULL CHECK (width > 0),
    height        integer NOT NULL CHECK (height > 0),
    filename      text,                   -- as uploaded, for display only
    PRIMARY KEY (report_id, n)
);

-- What the rules engine may read as observed events: reports not found false (received ones
-- count until checked; verified says a forecaster confirmed it). One row per report.
CREATE VIEW observed_event AS
    SELECT r.id AS report_id, 'field_report'::text AS source, r.kind, r.village_code,
           r.observed_at, r.status, r.status = 'verified' AS verified, r.people_affected,
           r.dead, r.injured, r.missing, r.geom
    FROM field_report r
    WHERE r.status IN ('received', 'verified');
COMMENT ON VIEW observed_event IS
    'Field reports the rules can use as observed events (received or verified, not false)';
