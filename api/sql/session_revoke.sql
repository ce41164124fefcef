-- Sign out: revoke the one sign-in token presented (label 'session'), not the user's others.
UPDATE api_token SET revoked_at = now()
WHERE token_sha256 = %(hash)s AND label = %(label)s AND revoked_at IS NULL
RETURNING id;
