-- Flag unfinished tasks of active responses past their deadline at %(at)s, once each: the
-- timeline row it adds is the one 'task_overdue' live event.
WITH due AS (
    UPDATE response_task t SET overdue_at = %(at)s
    FROM response r
    WHERE r.id = t.response_id AND r.status = 'active'
      AND t.status IN ('open', 'acknowledged') AND t.due_at < %(at)s AND t.overdue_at IS NULL
    RETURNING t.id, t.response_id, t.due_at, t.level
)
INSERT INTO response_event (response_id, at, kind, actor, task_id, level_to, details)
SELECT response_id, %(at)s, 'task_overdue', 'system', id, level,
       jsonb_build_object('due_at', due_at)
FROM due
RETURNING task_id;
