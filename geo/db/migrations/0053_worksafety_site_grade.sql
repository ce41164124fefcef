-- depends: 0051_worksafety_alarms 0052_worksafety_threat
-- Issue 21: each monitored site's grade now — its items and the whole site graded from the
-- points' open alarms by the rules of GB 39496-2020 §5.5.4 (geo/worksafety/aggregate.py) —
-- as the last alarm cycle left it. The map's site colour, and what a rise is measured from
-- (a rise is told; the same grade again is not).
CREATE TABLE ws_site_grade (
    site_id     text PRIMARY KEY REFERENCES ws_site (site_id) ON DELETE CASCADE,
    level       text CHECK (level IN ('blue', 'yellow', 'orange', 'red')),  -- NULL: no alarm
    reason      text NOT NULL,                 -- zh, e.g. 3个监测点黄色预警，项目升为橙色预警
    items       jsonb NOT NULL DEFAULT '{}'::jsonb,  -- {item: {level, reason}}
    since       timestamptz,                   -- when the site last left "no alarm"
    updated_at  timestamptz NOT NULL,
    CHECK ((level IS NULL) = (since IS NULL))
);
