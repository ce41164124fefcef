-- Reservoir observations (ST_RSVR_R). %(stcd)s NULL = every station; times in (since, until].
SELECT o.stcd, o.tm, o.rz, o.inq, o.otq, o.w, o.blrz, o.rwptn
FROM reservoir_obs o
WHERE (%(stcd)s::text[] IS NULL OR o.stcd = ANY(%(stcd)s::text[]))
  AND (%(since)s::timestamptz IS NULL OR o.tm > %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR o.tm <= %(until)s::timestamptz)
ORDER BY o.stcd, o.tm;
