-- Seconds until the next issued warning in force ends (NULL: none in force): the villages and
-- warnings tiles draw warnings with expires_at > now(), so they change then without any write
-- (api/tiles/cache.py drops them at that moment). Relative to now(): no clock skew between the
-- database and the API worker.
SELECT extract(epoch FROM min(expires_at) - now())::float8
FROM warning
WHERE status = 'issued' AND expires_at > now();
