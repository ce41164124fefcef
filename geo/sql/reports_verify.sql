-- A forecaster's finding: verified (已核实) or false (不实), who and when; the note is kept
-- when none is given.
UPDATE field_report
SET status = %(status)s, verifier = %(verifier)s, verified_at = now(),
    note = coalesce(%(note)s, note)
WHERE id = %(id)s
RETURNING id, status, kind, village_code;
