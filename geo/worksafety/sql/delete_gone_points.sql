-- Points of a reloaded site that its file no longer lists (their thresholds go with them).
DELETE FROM ws_point WHERE site_id = %(site_id)s AND NOT (id = ANY(%(ids)s)) RETURNING id;
