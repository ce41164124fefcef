INSERT INTO api_token (user_name, token_sha256, label, expires_at)
SELECT name, %(hash)s, %(label)s, %(expires_at)s
FROM app_user
WHERE name = %(name)s AND active
RETURNING id;
