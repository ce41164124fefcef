SELECT u.name, u.role, u.display_name, u.area_code, u.active, u.created_at,
       count(t.id) FILTER (WHERE t.revoked_at IS NULL
                           AND (t.expires_at IS NULL OR t.expires_at > now())) AS live_tokens,
       max(t.last_used_at) AS last_used_at
FROM app_user u
LEFT JOIN api_token t ON t.user_name = u.name
GROUP BY u.name
ORDER BY u.name;
