SELECT * FROM warning_audit WHERE warning_id = %(id)s ORDER BY id;
