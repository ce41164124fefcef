-- A response's new state after an action.
UPDATE response
SET status = %(status)s, level = %(level)s,
    started_at = coalesce(started_at, %(started_at)s),
    started_by = coalesce(started_by, %(started_by)s),
    ended_at = %(ended_at)s, updated_at = now()
WHERE id = %(id)s
RETURNING *;
