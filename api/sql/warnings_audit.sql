-- The audit trail of a warning, in the order things happened.
SELECT id, version, action, actor, at, reason, details, recorded_at
FROM warning_audit
WHERE warning_id = %(id)s
ORDER BY id;
