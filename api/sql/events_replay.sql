-- Events a reconnecting client missed: after its Last-Event-ID, recent, oldest first, bounded.
SELECT id, at, kind, public, payload
FROM event_log
WHERE id > %(after)s
  AND at > now() - make_interval(hours => %(hours)s)
  AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
  AND (public OR NOT %(public_only)s)
ORDER BY id
LIMIT %(limit)s;
