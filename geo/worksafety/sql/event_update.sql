UPDATE ws_event
SET state = %(state)s, level = %(level)s, max_level = %(max_level)s,
    points_alarming = %(points_alarming)s, points_total = %(points_total)s, alarms = %(alarms)s,
    last_at = %(last_at)s, closed_at = %(closed_at)s, engine = %(engine)s
WHERE id = %(id)s
