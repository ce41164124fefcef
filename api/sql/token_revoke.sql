UPDATE api_token SET revoked_at = now()
WHERE user_name = %(name)s AND revoked_at IS NULL;
