-- Open warnings whose expiry has passed at `at` (warning.expires_at, which the database derives
-- from the <expires> of the version in force: migration 0026), optionally of one rule and hazard,
-- locked for update.
SELECT * FROM warning
WHERE status IN ('candidate', 'issued')
  AND expires_at <= %(at)s
  AND (%(rule_id)s::text IS NULL OR rule_id = %(rule_id)s::text)
  AND (%(hazard)s::text IS NULL OR hazard = %(hazard)s::text)
ORDER BY id
FOR UPDATE;
