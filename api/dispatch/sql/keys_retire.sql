-- Retire every key of a terminal except its newest.
UPDATE terminal_key SET retired_at = now()
WHERE terminal_id = %(terminal_id)s AND retired_at IS NULL
  AND version < (SELECT max(version) FROM terminal_key WHERE terminal_id = %(terminal_id)s);
