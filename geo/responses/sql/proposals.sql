SELECT id, kind, level, at, condition, variables, status, decided_by, decided_at, reason
FROM response_proposal WHERE response_id = %(id)s ORDER BY id;
