-- A live event (event_log, announced on riskmap_events at commit): wall maps and the rules see it.
SELECT riskmap_event('field_report', %(payload)s::jsonb);
