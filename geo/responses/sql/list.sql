-- Responses, newest first, with their task counts and pending proposal; %(area)s is the
-- caller's area prefix (api/areas.py; NULL: all), the other filters are optional.
SELECT r.id, r.plan_id, r.plan_version, r.plan_title_zh, r.plan_title_en, r.county_code,
       c.name AS county_name, r.status, r.level, r.started_at, r.started_by, r.ended_at,
       r.created_at, r.updated_at,
       count(t.id) FILTER (WHERE t.status <> 'cancelled')::int AS tasks,
       count(t.id) FILTER (WHERE t.status = 'done')::int AS tasks_done,
       count(t.id) FILTER (WHERE t.status IN ('acknowledged', 'done'))::int AS tasks_acknowledged,
       count(t.id) FILTER (WHERE t.status IN ('open', 'acknowledged')
                            AND t.due_at < %(now)s)::int AS tasks_overdue,
       (SELECT jsonb_build_object('id', p.id, 'kind', p.kind, 'level', p.level, 'at', p.at)
        FROM response_proposal p WHERE p.response_id = r.id AND p.status = 'pending')
           AS pending_proposal
FROM response r
LEFT JOIN admin_unit c ON c.code = r.county_code
LEFT JOIN response_task t ON t.response_id = r.id
WHERE (%(area)s::text IS NULL OR r.county_code LIKE %(area)s || '%%')
  AND (%(status)s::text[] IS NULL OR r.status = ANY (%(status)s::text[]))
  AND (%(county)s::text IS NULL OR r.county_code = %(county)s)
  AND (%(plan)s::text IS NULL OR r.plan_id = %(plan)s)
  AND (%(id)s::bigint IS NULL OR r.id = %(id)s)
GROUP BY r.id, c.name
ORDER BY r.created_at DESC, r.id DESC
LIMIT %(limit)s;
