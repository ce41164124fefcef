-- The newest event id: where a starting listener begins.
SELECT coalesce(max(id), 0) FROM event_log;
