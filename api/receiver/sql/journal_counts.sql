-- What /healthz reports (refusals are counted in memory: they are never journaled).
SELECT count(*) FILTER (WHERE outcome = 'played') AS played,
       count(*) FILTER (WHERE outcome = 'stale') AS stale,
       coalesce(sum(repeats), 0) AS duplicates,
       count(acked_at) AS acked
FROM journal;
