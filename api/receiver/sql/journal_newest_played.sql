-- The newest version of a warning already played on a terminal (NULL when none).
SELECT max(version) FROM journal
WHERE warning_id = :warning_id AND terminal_id = :terminal_id AND outcome = 'played';
