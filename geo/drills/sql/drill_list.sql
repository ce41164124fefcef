SELECT d.id, d.scenario, d.county_code, a.name AS county_name, d.targets, d.scenario_start,
       d.scenario_end, d.status, d.started_by, d.started_at, d.finished_at
FROM drill d LEFT JOIN admin_unit a ON a.code = d.county_code
ORDER BY d.started_at DESC, d.id DESC
LIMIT %(limit)s;
