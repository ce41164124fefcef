-- Unretired keys, for the controllers' key files; only the terminals of villages in an area
-- (a code prefix: county, township or village) when one is given.
SELECT k.terminal_id, k.version, k.secret
FROM terminal_key k JOIN broadcast_terminal t ON t.id = k.terminal_id
WHERE k.retired_at IS NULL AND starts_with(t.village_code, %(area)s)
ORDER BY k.terminal_id, k.version;
