-- Open warnings of one rule and hazard still in force at `at` (an expired one is never extended:
-- the lifecycle ends it first), locked until the transaction ends.
SELECT * FROM warning
WHERE rule_id = %(rule_id)s AND hazard = %(hazard)s AND status IN ('candidate', 'issued')
  AND expires_at > %(at)s
ORDER BY id
FOR UPDATE;
