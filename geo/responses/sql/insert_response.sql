INSERT INTO response (plan_id, plan_version, plan_title_zh, plan_title_en, county_code, status,
                      created_at)
VALUES (%(plan)s, %(version)s, %(title_zh)s, %(title_en)s, %(county)s, 'proposed', %(at)s)
RETURNING *;
