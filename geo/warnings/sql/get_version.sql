SELECT * FROM warning_version WHERE warning_id = %(id)s AND version = %(version)s;
