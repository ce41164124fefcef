-- The newest event id (pos, in commit order): where a starting listener begins.
SELECT coalesce(max(pos), 0) FROM event_log;
