UPDATE drill SET status = %(status)s, finished_at = now(), error = %(error)s
WHERE id = %(id)s AND status = 'running';
