-- Drills as the register and the database's locks tell them, newest first: one (%(id)s) or
-- all, of the area %(area)s (county code prefix; NULL: every drill). A drill recorded as
-- running whose advisory lock (%(space)s, id) no session holds lost its process (killed, or
-- its connection dropped): it is shown as failed, with %(lost)s as the reason.
SELECT d.id, d.schema_name, d.scenario, d.county_code, a.name AS county_name, d.targets,
       d.receiver_url, d.scenario_start, d.scenario_end,
       CASE WHEN alive IS FALSE THEN 'failed' ELSE d.status END AS status,
       d.started_by, d.started_at, d.finished_at,
       CASE WHEN alive IS FALSE THEN %(lost)s ELSE d.error END AS error
FROM drill d
LEFT JOIN admin_unit a ON a.code = d.county_code
CROSS JOIN LATERAL (
    SELECT CASE WHEN d.status = 'running' THEN EXISTS (
        SELECT FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint = %(space)s::bigint AND l.objid::bigint = d.id
    ) END AS alive
) run
WHERE (%(id)s::bigint IS NULL OR d.id = %(id)s::bigint)
  AND (%(area)s::text IS NULL OR d.county_code LIKE %(area)s || '%%')
ORDER BY d.started_at DESC, d.id DESC
LIMIT %(limit)s;
