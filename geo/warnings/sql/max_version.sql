SELECT max(version) AS v FROM warning_version WHERE warning_id = %(id)s;
