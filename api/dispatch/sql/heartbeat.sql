INSERT INTO service_heartbeat (name, last_seen, detail) VALUES ('dispatcher', now(), %(detail)s)
ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen, detail = excluded.detail;
