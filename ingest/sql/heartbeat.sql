INSERT INTO service_heartbeat (name, last_seen, detail) VALUES (%(name)s, now(), %(detail)s)
ON CONFLICT (name) DO UPDATE SET last_seen = now(), detail = EXCLUDED.detail;
