-- A stronger hash of the same password after a sign-in, unless the password changed meanwhile.
UPDATE app_user SET password_hash = %(new)s
WHERE name = %(name)s AND password_hash = %(old)s;
