INSERT INTO field_report (kind, village_code, observed_at, reporter, text, people_affected,
                          dead, injured, missing, damage, geom)
VALUES (%(kind)s, %(village_code)s, %(observed_at)s, %(reporter)s, %(text)s,
        %(people_affected)s, %(dead)s, %(injured)s, %(missing)s, %(damage)s,
        ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
RETURNING id, status;
