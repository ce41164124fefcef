-- Delivered to listeners (live map, rules) when the transaction commits.
SELECT pg_notify('riskmap_events', %(payload)s);
