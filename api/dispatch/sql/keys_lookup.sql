-- One unretired key.
SELECT secret FROM terminal_key
WHERE terminal_id = %(terminal_id)s AND version = %(version)s AND retired_at IS NULL;
