-- The sign-in check's row: the user, whether it may sign in, and its password hash.
SELECT name, role, display_name, area_code, active, password_hash
FROM app_user
WHERE name = %(name)s;
