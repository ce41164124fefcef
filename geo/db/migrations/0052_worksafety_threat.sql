-- depends: 0048_worksafety_points
-- Issue 21 part 4: who a work-safety site threatens, and telling them.
--
-- * The villages downstream of a tailings dam (尾矿库下游村庄) along its D8 flow path from the
--   DEM, computed once per dam (`riskmap sites downstream`), with the path itself for the map.
-- * Site alarm notices: each orange / red (high / high-high) alarm or device fault the alarm
--   engine reports, so the SMS it sends has an owner in the outbox (outbox rows belonged to a
--   warning version or a response task; now also to a notice).
-- * The members of a bureau section (危化股, 矿山股 …): a site's supervising section must be
--   addressable, and neither `duty` (one thing per duty) nor `duty_shift` (offices) can name one.

-- The flow path of a dam, one per site: what it was computed from and why it ends.
CREATE TABLE ws_site_downstream_path (
    site_id            text PRIMARY KEY REFERENCES hazardous_site (id) ON DELETE CASCADE,
    toe_elevation_m    double precision NOT NULL,
    crest_elevation_m  double precision NOT NULL CHECK (crest_elevation_m > toe_elevation_m),
    max_distance_m     double precision NOT NULL CHECK (max_distance_m > 0),
    buffer_m           double precision NOT NULL CHECK (buffer_m >= 0),
    length_m           double precision NOT NULL CHECK (length_m >= 0),
    -- distance: the limit reached; above_crest: terrain at or above the crest; edge: left the
    -- DEM; sink: a cell with nowhere lower to go (beside a nodata hole)
    stop_reason        text NOT NULL
                       CHECK (stop_reason IN ('distance', 'above_crest', 'edge', 'sink')),
    dem_path           text NOT NULL,
    computed_at        timestamptz NOT NULL DEFAULT now(),
    geom               geometry(LineString, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ws_site_downstream_path_geom_idx ON ws_site_downstream_path USING gist (geom);
COMMENT ON TABLE ws_site_downstream_path IS
    'D8 flow path of a tailings dam from its toe, within a distance and below its crest';

-- The villages that path threatens, nearest first.
CREATE TABLE ws_site_downstream (
    site_id          text NOT NULL REFERENCES ws_site_downstream_path (site_id) ON DELETE CASCADE,
    village_code     text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    ord              integer NOT NULL CHECK (ord >= 1),             -- 1 = first reached
    distance_m       double precision NOT NULL CHECK (distance_m >= 0),  -- along the path
    offset_m         double precision NOT NULL CHECK (offset_m >= 0),    -- village to path
    min_elevation_m  double precision NOT NULL,   -- lowest ground of the village near the path
    below_crest_m    double precision NOT NULL CHECK (below_crest_m > 0),
    PRIMARY KEY (site_id, village_code),
    UNIQUE (site_id, ord)
);
CREATE INDEX ws_site_downstream_village_idx ON ws_site_downstream (village_code);

-- Who serves in a section of the county bureau (科室), e.g. 危化股, 矿山股.
CREATE TABLE ws_section_member (
    county_code  text NOT NULL REFERENCES admin_unit (code) ON DELETE CASCADE,
    section      text NOT NULL CHECK (length(section) > 0),
    person_id    text NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    PRIMARY KEY (county_code, section, person_id)
);
CREATE INDEX ws_section_member_person_idx ON ws_section_member (person_id);

-- One row per site alarm change the alarm engine reports and we notify about.
CREATE TABLE ws_notice (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         text NOT NULL REFERENCES hazardous_site (id) ON DELETE CASCADE,
    item            text,
    kind            text NOT NULL CHECK (kind IN ('threshold', 'fault')),
    level           text NOT NULL CHECK (length(level) > 0),
    previous_level  text,
    opened_at       timestamptz NOT NULL,
    summary_zh      text NOT NULL CHECK (length(summary_zh) > 0),
    warning_id      bigint REFERENCES warning (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- the engine reporting the same change twice is one notice
    UNIQUE NULLS NOT DISTINCT (site_id, item, kind, level, opened_at)
);
CREATE INDEX ws_notice_site_idx ON ws_notice (site_id, opened_at DESC);
CREATE INDEX ws_notice_warning_idx ON ws_notice (warning_id);

ALTER TABLE outbox
    ADD COLUMN ws_notice_id bigint REFERENCES ws_notice (id) ON DELETE CASCADE,
    DROP CONSTRAINT outbox_owner,
    ADD CONSTRAINT outbox_owner CHECK (num_nonnulls(warning_id, response_task_id, ws_notice_id) = 1
                                       AND (warning_id IS NULL) = (version IS NULL));
CREATE INDEX outbox_ws_notice_idx ON outbox (ws_notice_id) WHERE ws_notice_id IS NOT NULL;
