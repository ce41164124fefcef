-- Terminals that have no signing key yet.
SELECT t.id FROM broadcast_terminal t
WHERE NOT EXISTS (SELECT 1 FROM terminal_key k WHERE k.terminal_id = t.id)
ORDER BY t.id;
