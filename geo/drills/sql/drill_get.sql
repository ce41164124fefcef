SELECT id, schema_name, scenario, county_code, targets, receiver_url, scenario_start,
       scenario_end, status, started_by, started_at, finished_at, error
FROM drill WHERE id = %(id)s;
