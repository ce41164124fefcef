UPDATE app_user SET password_hash = %(hash)s
WHERE name = %(name)s
RETURNING name;
