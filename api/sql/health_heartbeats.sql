-- Service heartbeats (ingest runner, dispatcher, ...) and their age, for /healthz.
SELECT name, last_seen, extract(epoch FROM now() - last_seen)::float8 AS age_s
FROM service_heartbeat
ORDER BY name;
