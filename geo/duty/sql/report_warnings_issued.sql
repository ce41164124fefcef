-- Real (CAP status Actual) warnings first issued during [%(d0)s, %(d1)s): the first published
-- message's time, event and colour, the villages under it now, the updates published the same day, and the
-- warning's state now. A warning belongs to the area when one of its villages does.
WITH first AS (
    SELECT DISTINCT ON (v.warning_id) v.warning_id, v.cap_sent, v.event_zh, v.headline_zh,
           v.colour, v.action
    FROM warning_version v
    WHERE v.state = 'published'
    ORDER BY v.warning_id, v.version
)
SELECT w.id, w.hazard, f.event_zh, f.colour, f.action, f.cap_sent, f.headline_zh,
       cardinality(w.village_codes) AS villages,
       w.status, w.colour AS colour_now, w.ended_at,
       (SELECT count(*) FROM warning_version u
        WHERE u.warning_id = w.id AND u.state = 'published' AND u.msg_type = 'Update'
          AND u.cap_sent >= %(d0)s AND u.cap_sent < %(d1)s)::int AS updates
FROM first f
JOIN warning w ON w.id = f.warning_id
WHERE f.cap_sent >= %(d0)s AND f.cap_sent < %(d1)s AND w.cap_status = 'Actual'
  AND (%(area)s::text IS NULL
       OR EXISTS (SELECT 1 FROM unnest(w.village_codes) c WHERE c LIKE %(area)s || '%%'))
ORDER BY f.cap_sent, w.id;
