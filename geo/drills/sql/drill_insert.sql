INSERT INTO drill (scenario, county_code, targets, receiver_url, scenario_start, scenario_end,
                   started_by)
VALUES (%(scenario)s, %(county)s, %(targets)s, %(receiver_url)s, %(start)s, %(end)s, %(by)s)
RETURNING id;
