-- The next key version of a terminal (NULL row when the terminal does not exist).
INSERT INTO terminal_key (terminal_id, version, secret)
SELECT t.id, coalesce((SELECT max(version) FROM terminal_key WHERE terminal_id = t.id), 0) + 1,
       %(secret)s
FROM broadcast_terminal t WHERE t.id = %(terminal_id)s
RETURNING version;
