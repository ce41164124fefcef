-- Record that a rule fired for these villages of a warning at `at`, with the numbers it found
-- (the warning's latest evidence; a village fired earlier keeps the later of the two firings).
INSERT INTO warning_village (warning_id, village_code, last_fired_at, colour, numbers)
SELECT %(id)s, f.code, %(at)s, %(colour)s, coalesce(%(numbers)s::jsonb -> f.code, '{}'::jsonb)
FROM unnest(%(villages)s::text[]) AS f(code)
ON CONFLICT (warning_id, village_code) DO UPDATE
SET last_fired_at = EXCLUDED.last_fired_at, colour = EXCLUDED.colour, numbers = EXCLUDED.numbers
WHERE warning_village.last_fired_at <= EXCLUDED.last_fired_at;
