-- Problems this source already quarantined for these records (table, STCD and TM): the rows
-- inside the overlap are read again at every poll, and a bad one is recorded once (whether the
-- checks or the database refused it).
SELECT record, coalesce(field, '') AS field, reason
FROM quarantine
WHERE source = %(source)s AND record = ANY(%(records)s);
