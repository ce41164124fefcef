-- Delivered to listeners (rules engine, live map) when the transaction commits.
SELECT pg_notify('riskmap_events', %(payload)s);
