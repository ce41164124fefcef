-- Rain observations (ST_PPTN_R). %(stcd)s NULL = every station; times in (since, until].
SELECT o.stcd, o.tm, o.drp, o.intv::float8 AS intv, o.pdr::float8 AS pdr, o.dyp, o.wth
FROM rain_obs o
WHERE (%(stcd)s::text[] IS NULL OR o.stcd = ANY(%(stcd)s::text[]))
  AND (%(since)s::timestamptz IS NULL OR o.tm > %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR o.tm <= %(until)s::timestamptz)
ORDER BY o.stcd, o.tm;
