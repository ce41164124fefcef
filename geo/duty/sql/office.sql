-- A duty office of the roster: its admin unit's name, if any roster row names it.
SELECT a.code, a.name, a.level
FROM admin_unit a
WHERE a.code = %(org)s AND EXISTS (SELECT 1 FROM duty_shift ds WHERE ds.org_code = a.code);
