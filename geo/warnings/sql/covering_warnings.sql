-- Issued warnings of a hazard (any rule) in force at `at`, published at one of `colours` (the
-- same level as a candidate or higher), that cover some of `villages`: the villages they cover.
-- A candidate never targets these villages again (the lifecycle trims or suppresses it).
SELECT w.id, v.colour, array_agg(c ORDER BY c) AS covered
FROM warning w
JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
CROSS JOIN LATERAL unnest(v.village_codes) AS c
WHERE w.status = 'issued' AND w.hazard = %(hazard)s AND w.expires_at > %(at)s
  AND v.colour = ANY(%(colours)s::text[])
  AND w.id <> ALL(%(exclude)s::bigint[])
  AND c = ANY(%(villages)s::text[])
GROUP BY w.id, v.colour
ORDER BY w.id;
