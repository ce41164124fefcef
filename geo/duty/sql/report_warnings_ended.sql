-- Real warnings that had been issued and ended during [%(d0)s, %(d1)s): cancelled (解除) or
-- expired (到期), with the colour they ended at and when they were first issued.
SELECT w.id, w.hazard, v.event_zh, w.colour, w.status, w.ended_at,
       (SELECT min(p.cap_sent) FROM warning_version p
        WHERE p.warning_id = w.id AND p.state = 'published') AS issued_at
FROM warning w
JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
WHERE w.status IN ('cancelled', 'expired') AND w.published_version IS NOT NULL
  AND w.ended_at >= %(d0)s AND w.ended_at < %(d1)s AND w.cap_status = 'Actual'
  AND (%(area)s::text IS NULL
       OR EXISTS (SELECT 1 FROM unnest(w.village_codes) c WHERE c LIKE %(area)s || '%%'))
ORDER BY w.ended_at, w.id;
