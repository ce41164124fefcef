-- Candidates the drill's forecaster reviews by `until`: proposed `after` minutes before it or
-- earlier (read in the drill schema).
SELECT id, first_fired_at + %(after)s * interval '1 minute' AS review_at
FROM warning
WHERE status = 'candidate' AND first_fired_at + %(after)s * interval '1 minute' <= %(until)s
ORDER BY first_fired_at, id;
