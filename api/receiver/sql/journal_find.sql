-- The row of a message key (is this a repeat?).
SELECT * FROM journal WHERE key = :key;
