-- One statement: check the token and note its use (at most once a minute, to spare writes).
-- expires_at bounds how long a worker may keep the check (api/auth.py TokenCache).
WITH hit AS (
    SELECT t.id, u.name, u.role, u.display_name, u.area_code, t.last_used_at, t.expires_at
    FROM api_token t
    JOIN app_user u ON u.name = t.user_name
    WHERE t.token_sha256 = %(hash)s
      AND t.revoked_at IS NULL
      AND (t.expires_at IS NULL OR t.expires_at > now())
      AND u.active
), touched AS (
    UPDATE api_token SET last_used_at = now()
    WHERE id IN (SELECT id FROM hit
                 WHERE last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
SELECT name, role, display_name, area_code, expires_at FROM hit;
