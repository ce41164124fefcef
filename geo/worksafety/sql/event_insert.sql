INSERT INTO ws_event (site_id, item, state, level, max_level, points_alarming, points_total,
                      alarms, first_at, last_at, closed_at, engine)
VALUES (%(site_id)s, %(item)s, %(state)s, %(level)s, %(max_level)s, %(points_alarming)s,
        %(points_total)s, %(alarms)s, %(first_at)s, %(last_at)s, %(closed_at)s, %(engine)s)
RETURNING id
