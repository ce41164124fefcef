SELECT cap_identifier FROM warning_version WHERE cap_identifier LIKE %(pattern)s;
