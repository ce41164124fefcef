-- depends: 0048_worksafety_points
-- Issue 21, alarm-flood control (报警风暴治理): the alarms and device faults the engine in
-- geo/worksafety raises from ws_reading, the events that merge a site's item's alarms, the
-- engine's per-point state (so `riskmap sites alarms` continues where it stopped) and
-- maintenance windows (检修/标定) that suppress alarms.

CREATE TABLE ws_maintenance (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id    text REFERENCES ws_site (site_id) ON DELETE CASCADE,
    point_id   text REFERENCES ws_point (id) ON DELETE CASCADE,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    reason     text NOT NULL DEFAULT '',
    CHECK ((site_id IS NULL) <> (point_id IS NULL)),  -- a whole site or one point
    CHECK (ends_at > starts_at)
);
CREATE INDEX ws_maintenance_ends_idx ON ws_maintenance (ends_at);
CREATE INDEX ws_maintenance_site_idx ON ws_maintenance (site_id);
CREATE INDEX ws_maintenance_point_idx ON ws_maintenance (point_id);

-- One event per site and monitoring item while any of its counting alarms is open.
CREATE TABLE ws_event (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id          text NOT NULL REFERENCES ws_site (site_id) ON DELETE CASCADE,
    item             text NOT NULL,
    state            text NOT NULL CHECK (state IN ('open', 'closed')),
    level            text CHECK (level IN ('blue', 'yellow', 'orange', 'red', 'high', 'high_high')),
    max_level        text NOT NULL
                     CHECK (max_level IN ('blue', 'yellow', 'orange', 'red', 'high', 'high_high')),
    points_alarming  integer NOT NULL CHECK (points_alarming >= 0),  -- now
    points_total     integer NOT NULL CHECK (points_total >= 1),     -- every point that alarmed
    alarms           integer NOT NULL CHECK (alarms >= 1),
    first_at         timestamptz NOT NULL,
    last_at          timestamptz NOT NULL,
    closed_at        timestamptz,
    engine           jsonb NOT NULL,  -- the merger's state (ranks of the open members)
    CHECK ((state = 'closed') = (closed_at IS NOT NULL)),
    CHECK ((state = 'open') = (level IS NOT NULL))
);
CREATE UNIQUE INDEX ws_event_one_open_idx ON ws_event (site_id, item) WHERE state = 'open';
CREATE INDEX ws_event_first_idx ON ws_event (first_at);
CREATE INDEX ws_event_site_idx ON ws_event (site_id);

-- Threshold alarms and device faults of points. A fault (stuck, out of range, impossible jump,
-- silent) goes to the site's maintenance contact and supervising section, never to villages.
CREATE TABLE ws_alarm (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    point_id    text NOT NULL REFERENCES ws_point (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('threshold', 'fault')),
    fault_kind  text CHECK (fault_kind IN ('stuck', 'range', 'jump', 'silent')),
    level       text CHECK (level IN ('blue', 'yellow', 'orange', 'red', 'high', 'high_high')),
    max_level   text CHECK (max_level IN ('blue', 'yellow', 'orange', 'red', 'high', 'high_high')),
    began_at    timestamptz NOT NULL,  -- the condition (or fault) began
    opened_at   timestamptz NOT NULL,  -- raised: after the minimum duration
    last_at     timestamptz,
    cleared_at  timestamptz,           -- final once the hold time passed without re-opening
    peak        double precision,      -- most severe value while open
    value       double precision,      -- last counted value
    levels      jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [[time, level], ...] changes
    flapping    boolean NOT NULL DEFAULT false,      -- opened while the point flapped (频繁波动)
    suppressed  boolean NOT NULL DEFAULT false,      -- opened in a maintenance window
    event_id    bigint REFERENCES ws_event (id) ON DELETE SET NULL,
    CHECK ((kind = 'fault') = (fault_kind IS NOT NULL)),
    CHECK ((kind = 'threshold') = (level IS NOT NULL)),
    CHECK (opened_at >= began_at),
    CHECK (cleared_at IS NULL OR cleared_at >= began_at),
    UNIQUE (point_id, kind, opened_at)
);
CREATE INDEX ws_alarm_open_idx ON ws_alarm (point_id) WHERE cleared_at IS NULL;
CREATE INDEX ws_alarm_opened_idx ON ws_alarm (opened_at);
CREATE INDEX ws_alarm_event_idx ON ws_alarm (event_id);

-- The engine's state of each point after the last run: readings after last_tm are new.
CREATE TABLE ws_alarm_state (
    point_id    text PRIMARY KEY REFERENCES ws_point (id) ON DELETE CASCADE,
    last_tm     timestamptz,
    engine      jsonb NOT NULL,
    run_until   timestamptz NOT NULL
);
