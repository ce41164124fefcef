-- New readings announced as a live event (event_log, migration 0021) on channel riskmap_events
-- at commit, for the alarm engine and the live map.
SELECT riskmap_event('observation', %(payload)s::jsonb);
