-- The note a correction names: its office (a correction stays within the same office).
SELECT id, org_code FROM duty_handover WHERE id = %(id)s;
