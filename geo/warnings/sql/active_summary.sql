-- Open warnings by status and colour (for the demo's storm timeline and the CLI).
SELECT status, colour, count(*) AS n
FROM warning
WHERE status IN ('candidate', 'issued')
GROUP BY status, colour
ORDER BY status, colour;
