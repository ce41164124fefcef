-- Log a raw notification (sent with pg_notify, no event id); its trigger announces it again.
SELECT riskmap_event(%(kind)s, %(payload)s);
