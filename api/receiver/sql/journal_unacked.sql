-- Played messages whose ack is still owed (resumed at start).
SELECT * FROM journal
WHERE outcome = 'played' AND acked_at IS NULL AND ack_url IS NOT NULL
ORDER BY id;
