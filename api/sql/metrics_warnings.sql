-- Warnings by status and colour, for /metrics.
SELECT status, colour, count(*)::int AS n FROM warning GROUP BY status, colour ORDER BY 1, 2;
