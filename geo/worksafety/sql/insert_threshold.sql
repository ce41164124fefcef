INSERT INTO ws_threshold (point_id, level, value) VALUES (%(point_id)s, %(level)s, %(value)s);
