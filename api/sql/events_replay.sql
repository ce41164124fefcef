-- Events a reconnecting client missed: after its Last-Event-ID, recent, oldest first, bounded.
-- The id clients see is pos, assigned in commit order (migration 0040): nothing committed later
-- can get a smaller one, so "after" misses nothing.
SELECT pos AS id, at, kind, public, payload
FROM event_log
WHERE pos > %(after)s
  AND at > now() - make_interval(hours => %(hours)s)
  AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
  AND (public OR NOT %(public_only)s)
  -- a client bound to an area (api/areas.py): area kinds only for its counties (migration 0032)
  AND (%(area)s::text IS NULL OR NOT kind = ANY(%(area_kinds)s::text[])
       OR EXISTS (SELECT FROM jsonb_array_elements_text(
                      CASE WHEN jsonb_typeof(payload -> 'counties') = 'array'
                           THEN payload -> 'counties' ELSE '[]'::jsonb END) c
                  WHERE c LIKE %(area)s || '%%'))
ORDER BY pos
LIMIT %(limit)s;
