SELECT * FROM warning_version WHERE warning_id = %(id)s ORDER BY version;
