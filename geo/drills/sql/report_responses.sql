SELECT r.id, r.plan_id, r.plan_title_zh, r.status, r.level, r.started_at, r.started_by
FROM response r
WHERE r.started_at IS NOT NULL
ORDER BY r.started_at, r.id;
