-- Acknowledge (收到) or finish a task; done implies acknowledged.
UPDATE response_task
SET status = %(status)s,
    acked_at = coalesce(acked_at, %(at)s), acked_by = coalesce(acked_by, %(actor)s),
    done_at = CASE WHEN %(status)s = 'done' THEN %(at)s END,
    done_by = CASE WHEN %(status)s = 'done' THEN %(actor)s END,
    note = coalesce(%(note)s, note)
WHERE id = %(task_id)s
RETURNING *;
