-- Open warnings of one rule and hazard, locked until the transaction ends.
SELECT * FROM warning
WHERE rule_id = %(rule_id)s AND hazard = %(hazard)s AND status IN ('candidate', 'issued')
ORDER BY id
FOR UPDATE;
