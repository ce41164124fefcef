DELETE FROM ws_threshold WHERE point_id = ANY(%(ids)s);
