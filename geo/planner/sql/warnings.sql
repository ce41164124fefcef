-- Warnings (current state), newest first; versions and evidence are read per warning by
-- geo.warnings.lifecycle.get_warning. %(status)s NULL = every status.
SELECT w.id FROM warning w
WHERE %(status)s::text IS NULL OR w.status = %(status)s::text
ORDER BY w.id;
