-- Retention: events older than the replay window are history; keep a week for inquiries.
DELETE FROM event_log WHERE at < now() - make_interval(days => %(days)s);
