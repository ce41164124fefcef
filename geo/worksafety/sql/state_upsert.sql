INSERT INTO ws_alarm_state (point_id, last_tm, engine, run_until)
VALUES (%(point_id)s, %(last_tm)s, %(engine)s, %(until)s)
ON CONFLICT (point_id) DO UPDATE
SET last_tm = EXCLUDED.last_tm, engine = EXCLUDED.engine, run_until = EXCLUDED.run_until
