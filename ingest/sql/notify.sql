-- Logged as a live event (event_log, migration 0021) whose trigger announces it on channel
-- riskmap_events to listeners (rules engine, live map) when the transaction commits.
SELECT riskmap_event('observation', %(payload)s::jsonb);
