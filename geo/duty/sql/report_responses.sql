-- Emergency responses (应急响应, migration 0033) of the area's counties in being at any time
-- during [%(d0)s, %(d1)s) (proposed, started, or ended that day), with their tasks: how many
-- (cancelled ones left out), done, done after their deadline, and overdue (open or acknowledged
-- past their deadline, as of the day's end or now if earlier).
SELECT r.id, r.plan_title_zh, r.status, r.level, r.created_at, r.started_at, r.ended_at,
       count(t.id) FILTER (WHERE t.status <> 'cancelled')::int AS tasks,
       count(t.id) FILTER (WHERE t.status = 'done')::int AS tasks_done,
       count(t.id) FILTER (WHERE t.status = 'done' AND t.done_at > t.due_at)::int AS tasks_late,
       count(t.id) FILTER (WHERE t.status IN ('open', 'acknowledged')
                             AND t.due_at < least(%(d1)s::timestamptz, now()))::int AS tasks_overdue
FROM response r
LEFT JOIN response_task t ON t.response_id = r.id
WHERE coalesce(r.started_at, r.created_at) < %(d1)s
  AND (r.ended_at IS NULL OR r.ended_at >= %(d0)s)
  AND (%(area)s::text IS NULL OR r.county_code LIKE %(area)s || '%%')
GROUP BY r.id, r.plan_title_zh, r.status, r.level, r.created_at, r.started_at, r.ended_at
ORDER BY coalesce(r.started_at, r.created_at), r.id;
