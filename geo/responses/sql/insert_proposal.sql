INSERT INTO response_proposal (response_id, kind, level, at, condition, variables)
VALUES (%(response_id)s, %(kind)s, %(level)s, %(at)s, %(condition)s, %(variables)s)
RETURNING *;
