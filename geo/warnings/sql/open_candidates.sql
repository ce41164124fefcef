-- Candidates of one hazard (any rule) still in force at `at`, locked until the transaction ends.
SELECT * FROM warning
WHERE hazard = %(hazard)s AND status = 'candidate' AND expires_at > %(at)s
ORDER BY id
FOR UPDATE;
