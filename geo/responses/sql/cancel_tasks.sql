-- Cancel the unfinished tasks of the levels above %(keep)s (a number: 5 cancels all): the
-- level was lowered or the response ended.
UPDATE response_task SET status = 'cancelled'
WHERE response_id = %(id)s AND status IN ('open', 'acknowledged') AND level < %(keep)s
RETURNING id;
