-- Open warnings whose rule has not fired for their hold time.
SELECT * FROM warning
WHERE status IN ('candidate', 'issued')
  AND last_fired_at + make_interval(secs => hold_hours * 3600) <= %(at)s
ORDER BY id
FOR UPDATE;
