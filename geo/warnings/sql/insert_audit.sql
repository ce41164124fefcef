INSERT INTO warning_audit (warning_id, version, action, actor, at, reason, details)
VALUES (%(warning_id)s, %(version)s, %(action)s, %(actor)s, %(at)s, %(reason)s, %(details)s)
RETURNING id;
