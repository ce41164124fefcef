-- Rule proposals first fired during [%(d0)s, %(d1)s) that were never issued, by state:
-- candidate (awaiting a forecaster, 待审核), rejected (驳回) or expired (未发布即到期).
SELECT w.status, count(*)::int AS n
FROM warning w
WHERE w.published_version IS NULL AND w.cap_status = 'Actual'
  AND w.first_fired_at >= %(d0)s AND w.first_fired_at < %(d1)s
  AND (%(area)s::text IS NULL
       OR EXISTS (SELECT 1 FROM unnest(w.village_codes) c WHERE c LIKE %(area)s || '%%'))
GROUP BY w.status
ORDER BY w.status;
